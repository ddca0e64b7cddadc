using EvenConv.Distributed;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>Convolution → <c>bn</c> [→ activation]: the post-activation unit of MobileNetV2 and ShuffleNetV2.</summary>
public sealed class ConvNorm : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ConvLayer conv;
    private readonly BatchNorm2d bn;
    private readonly Activation? _activation;

    public ConvNorm(ConvLayer conv, Activation? activation) : base("conv_norm")
    {
        this.conv = conv;
        bn = Components.Norm(conv.Spec.OutChannels);
        _activation = activation;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = SyncBatchNorm.Call(bn, conv.call(input));
        if (_activation is { } a) x = a.ApplyInPlace(x);
        return x.MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var x = OnnxConvolution.WriteWithNorm(graph, conv, bn, input);
        return _activation is { } a ? a.WriteOnnx(graph, x) : x;
    }
}

/// <summary>MobileNetV2 inverted residual: [<c>conv_pw</c> 1×1 expand + BN-ReLU6 when t ≠ 1] → <c>conv_dw</c> depthwise k×k (stride)
/// + BN-ReLU6 → <c>conv_pwl</c> 1×1 project + BN, plus the input when the stride is 1 and the width is kept.</summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ConvNorm? conv_pw;
    private readonly ConvNorm conv_dw, conv_pwl;
    private readonly bool _residual;

    public InvertedResidual(int inChannels, int outChannels, int stride, int expansion, ConvKind kind, Activation activation) : base("inverted_residual")
    {
        var hidden = inChannels * expansion;
        if (expansion != 1) conv_pw = new ConvNorm(Components.Pointwise(inChannels, hidden), activation);
        conv_dw = new ConvNorm(Components.Depthwise(hidden, kind, stride), activation);
        conv_pwl = new ConvNorm(Components.Pointwise(hidden, outChannels), null);
        _residual = stride == 1 && inChannels == outChannels;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv_pw is null ? input : conv_pw.call(input);
        x = conv_pwl.call(conv_dw.call(x));
        if (_residual) x = x.add_(input);
        return x.MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var x = conv_pw is null ? input : graph.Module(conv_pw, input);
        x = graph.Module(conv_pwl, graph.Module(conv_dw, x));
        return _residual ? graph.Add(x, input) : x;
    }
}

/// <summary>One MobileNetV2 row (t, c, n, s): <paramref name="Blocks"/> inverted residuals of expansion
/// <paramref name="Expansion"/> to <paramref name="OutChannels"/> channels, the first with stride <paramref name="Stride"/>.</summary>
public sealed record InvertedStageConfig(int Expansion, int OutChannels, int Blocks, int Stride);

/// <summary>A MobileNetV2: every variant of the family is one of these.</summary>
public sealed record MobileNetV2Config(string Name, StemConfig Stem, IReadOnlyList<InvertedStageConfig> Stages, HeadConfig Head, Activation Activation = Activation.Relu6);

/// <summary>MobileNetV2 (Sandler et al.) with a width multiplier (§3.3 item 6) and the CIFAR inverted-bottleneck family
/// of the overhead comparison (§3.5). The depthwise kernel is the model's conv kind; the paper's models use c3.</summary>
public static class MobileNetV2
{
    private static readonly (int T, int C, int N, int S)[] ImageNetRows =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>Builds the network.</summary>
    public static ConvNet Create(MobileNetV2Config config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        options.Validate();
        var stem = new Stem(options.InChannels, config.Stem, config.Activation);
        var channels = stem.OutChannels;
        var stages = new List<Stage>();
        foreach (var s in config.Stages)
        {
            stages.Add(Stage.OfBlocks(channels, s.OutChannels, s.Blocks, s.Stride,
                (cin, cout, stride) => new InvertedResidual(cin, cout, stride, s.Expansion, options.Conv, config.Activation)));
            channels = s.OutChannels;
        }
        return new ConvNet(config.Name, stem, stages, new ClassifierHead(channels, options.NumClasses, config.Head, config.Activation));
    }

    /// <summary>ImageNet MobileNetV2 at width <paramref name="width"/>: channels scaled and rounded to multiples of 8 (never
    /// below 90 %), stem 3×3/2 + BN-ReLU6, last 1×1 to max(1280, 1280·width) + BN-ReLU6, GAP, dropout 0.2, FC with bias.
    /// Width 1.4 gives the paper's outputs 24, 32, 48, 88, 136, 224, 448 and 1792.</summary>
    public static MobileNetV2Config ImageNetConfig(double width)
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "Width multiplier must be positive (1.0 is the standard MobileNetV2).");
        return new MobileNetV2Config(
            $"mobilenetv2_{width.ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture)}",
            new StemConfig(MakeDivisible(32 * width), 3, 2, Norm: true),
            ImageNetRows.Select(r => new InvertedStageConfig(r.T, MakeDivisible(r.C * width), r.N, r.S)).ToList(),
            new HeadConfig(ConvChannels: width > 1 ? MakeDivisible(1280 * width) : 1280, Dropout: 0.2));
    }

    /// <summary>The CIFAR inverted-bottleneck network of the overhead comparison: 3×3 stem to 16 + BN-ReLU6, three stages of
    /// <paramref name="blocksPerStage"/> blocks (expansion 6) at widths 16/32/64 and strides 1/2/2, head BN-ReLU6-GAP-FC.
    /// Three convolutions per block, so depth 9b+2: b = 2, 6, 12 give 20, 56, 110 layers (the authors' code has b = 12).</summary>
    public static MobileNetV2Config CifarConfig(int blocksPerStage) =>
        new($"mobilenetv2_cifar{9 * blocksPerStage + 2}", new StemConfig(16, Norm: true),
            [new(6, 16, blocksPerStage, 1), new(6, 32, blocksPerStage, 2), new(6, 64, blocksPerStage, 2)],
            new HeadConfig());

    /// <summary>TensorFlow's channel rounding: nearest multiple of 8, but not more than 10 % below the scaled value.</summary>
    public static int MakeDivisible(double value, int divisor = 8)
    {
        var rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }
}
