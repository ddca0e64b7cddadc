using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>
/// ShuffleNetV2 unit. Stride 1: the channels are split in half, <c>branch_main</c> (1×1+BN+act → depthwise k×k+BN → 1×1+BN+act)
/// transforms the second half, the halves are concatenated and shuffled (2 groups). Stride 2: both branches read the whole
/// input, <c>branch_proj</c> being depthwise k×k/2+BN → 1×1+BN+act.
/// </summary>
public sealed class ShuffleUnit : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly nn.Module<Tensor, Tensor>? branch_proj;
    private readonly nn.Module<Tensor, Tensor> branch_main;

    public ShuffleUnit(int inChannels, int outChannels, int stride, ConvKind kind, Activation activation) : base("shuffle_unit")
    {
        if (outChannels % 2 != 0) throw new ArgumentException($"ShuffleNetV2 unit widths must be even (got {outChannels}).", nameof(outChannels));
        if (stride == 1 && inChannels != outChannels)
            throw new ArgumentException($"A stride-1 ShuffleNetV2 unit keeps its width; got {inChannels} → {outChannels}.", nameof(outChannels));
        var half = outChannels / 2;
        var mainIn = stride == 1 ? inChannels / 2 : inChannels;
        branch_main = nn.Sequential(
            new ConvNorm(Components.Pointwise(mainIn, half), activation),
            new ConvNorm(Components.Depthwise(half, kind, stride), null),
            new ConvNorm(Components.Pointwise(half, half), activation));
        if (stride != 1)
            branch_proj = nn.Sequential(
                new ConvNorm(Components.Depthwise(inChannels, kind, stride), null),
                new ConvNorm(Components.Pointwise(inChannels, half), activation));
        _outChannels = outChannels;
        RegisterComponents();
    }

    private readonly int _outChannels;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor kept, transformed;
        if (branch_proj is null)
        {
            var halves = input.chunk(2, 1);
            kept = halves[0];
            transformed = branch_main.call(halves[1]);
        }
        else
        {
            kept = branch_proj.call(input);
            transformed = branch_main.call(input);
        }
        return ChannelShuffle(cat([kept, transformed], 1), 2).MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        string kept, transformed;
        if (branch_proj is null)
        {
            var half = graph.InputShape(this)[1] / 2;
            var halves = graph.SplitChannels(input, [half, half]);
            (kept, transformed) = (halves[0], graph.Module(branch_main, halves[1]));
        }
        else
            (kept, transformed) = (graph.Module(branch_proj, input), graph.Module(branch_main, input));
        return graph.ChannelShuffle(graph.Concat([kept, transformed]), _outChannels, 2);
    }

    /// <summary>Interleaves <paramref name="groups"/> channel groups: channel g·(C/groups)+i moves to i·groups+g.</summary>
    public static Tensor ChannelShuffle(Tensor x, int groups)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        return x.reshape(n, groups, c / groups, h, w).transpose(1, 2).reshape(n, c, h, w);
    }
}

/// <summary>A ShuffleNetV2: every width is one of these.</summary>
public sealed record ShuffleNetV2Config(string Name, StemConfig Stem, IReadOnlyList<StageConfig> Stages, HeadConfig Head, Activation Activation = Activation.Relu6);

/// <summary>ShuffleNetV2 (Ma et al.) as the paper's authors build it (§3.3 item 7): ReLU6, dropout 0.2 before the classifier.</summary>
public static class ShuffleNetV2
{
    /// <summary>Builds the network; the depthwise kernels have <paramref name="options"/>.Conv (c3 in the paper).</summary>
    public static ConvNet Create(ShuffleNetV2Config config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        options.Validate();
        var stem = new Stem(options.InChannels, config.Stem, config.Activation);
        var channels = stem.OutChannels;
        var stages = new List<Stage>();
        foreach (var s in config.Stages)
        {
            stages.Add(Stage.OfBlocks(channels, s.OutChannels, s.Blocks, s.Stride,
                (cin, cout, stride) => new ShuffleUnit(cin, cout, stride, options.Conv, config.Activation)));
            channels = s.OutChannels;
        }
        return new ConvNet(config.Name, stem, stages, new ClassifierHead(channels, options.NumClasses, config.Head, config.Activation));
    }

    /// <summary>ImageNet ShuffleNetV2 at width 0.5, 1.0, 1.5 or 2.0 (Ma et al., Table 5): stem 3×3/2 to 24 + BN-ReLU6 and
    /// 3×3/2 max-pool, stages [4,8,4] all starting with stride 2, last 1×1 to 1024 (2048 at 2.0) + BN-ReLU6, GAP, dropout 0.2, FC.</summary>
    public static ShuffleNetV2Config ImageNetConfig(double width)
    {
        int[] outs = width switch
        {
            0.5 => [48, 96, 192, 1024],
            1.0 => [116, 232, 464, 1024],
            1.5 => [176, 352, 704, 1024],
            2.0 => [244, 488, 976, 2048],
            _ => throw new ArgumentOutOfRangeException(nameof(width), width, "ShuffleNetV2 is defined at widths 0.5, 1.0, 1.5 and 2.0."),
        };
        int[] repeats = [4, 8, 4];
        return new ShuffleNetV2Config(
            $"shufflenetv2_{width.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}",
            new StemConfig(24, 3, 2, Norm: true, MaxPool: true),
            repeats.Select((r, i) => new StageConfig(r, outs[i], 2)).ToList(),
            new HeadConfig(ConvChannels: outs[3], Dropout: 0.2));
    }
}
