using EvenConv.Distributed;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Models;

/// <summary>A DenseNet: every variant of the family is one of these.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Growth">Growth rate g: channels each layer adds.</param>
/// <param name="Blocks">Layers per dense block.</param>
/// <param name="Bottleneck">BC layers (BN-act-1×1 to <paramref name="BottleneckWidth"/>·g, then BN-act-k×k to g) instead of BN-act-k×k.</param>
/// <param name="Compression">Transition output channels as a fraction θ of its input (1 keeps them, 0.5 halves them).</param>
/// <param name="Stem">The stem; DenseNet's first layer normalises its input, so stems have no BN.</param>
/// <param name="FcBias">Whether the classifier has a bias.</param>
/// <param name="BottleneckWidth">Bottleneck width as a multiple of g.</param>
public sealed record DenseNetConfig(
    string Name,
    int Growth,
    IReadOnlyList<int> Blocks,
    bool Bottleneck,
    double Compression,
    StemConfig Stem,
    bool FcBias = true,
    int BottleneckWidth = 4);

/// <summary>Non-BC layer <c>bn1</c>-ReLU-<c>conv1</c>(k×k → g), or BC layer <c>bn1</c>-ReLU-<c>conv1</c>(1×1 → 4g)-<c>bn2</c>-ReLU-<c>conv2</c>(k×k → g);
/// the output is the input with the new channels appended.</summary>
public sealed class DenseLayer : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly BatchNorm2d bn1;
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly BatchNorm2d? bn2;
    private readonly nn.Module<Tensor, Tensor>? conv2;

    public DenseLayer(int inChannels, int growth, int? bottleneckChannels, SpatialConv spatial) : base("dense_layer")
    {
        bn1 = Components.Norm(inChannels);
        if (bottleneckChannels is int b)
        {
            conv1 = Components.Pointwise(inChannels, b);
            bn2 = Components.Norm(b);
            conv2 = spatial.Create(b, growth);
        }
        else
        {
            conv1 = spatial.Create(inChannels, growth);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = PreActivationConv.Apply(bn1, Activation.Relu, conv1, input);
        if (bn2 is not null && conv2 is not null) x = PreActivationConv.Apply(bn2, Activation.Relu, conv2, x);
        return cat([input, x], 1).MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var x = PreActivationConv.WriteOnnx(graph, bn1, Activation.Relu, conv1, input);
        if (bn2 is not null && conv2 is not null) x = PreActivationConv.WriteOnnx(graph, bn2, Activation.Relu, conv2, x);
        return graph.Concat([input, x]);
    }
}

/// <summary>Transition between dense blocks: <c>bn</c>-ReLU-<c>conv</c> 1×1 → 2×2 average pool, stride 2, no padding.</summary>
public sealed class DenseTransition : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly BatchNorm2d bn;
    private readonly ConvLayer conv;

    public DenseTransition(int inChannels, int outChannels) : base("transition")
    {
        bn = Components.Norm(inChannels);
        conv = Components.Pointwise(inChannels, outChannels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return F.avg_pool2d(conv.call(F.relu(SyncBatchNorm.Call(bn, input), inplace: true)), 2).MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input) =>
        graph.AveragePool(PreActivationConv.WriteOnnx(graph, bn, Activation.Relu, conv, input), 2, 2);
}

/// <summary>
/// DenseNets of the paper as configurations of one builder: the CIFAR sweep family without bottleneck or compression
/// (§3.1.1), DenseNet-BC and the Wide-DenseNets of §3.2, and DenseNet-121 (§3.3 item 5). Stage i holds dense block i and,
/// except for the last, the transition after it.
/// </summary>
public static class DenseNet
{
    /// <summary>Builds the network; every k×k convolution has <paramref name="options"/>.Conv.</summary>
    public static ConvNet Create(DenseNetConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        options.Validate();
        if (config.Growth < 1) throw new ArgumentOutOfRangeException(nameof(config), config.Growth, "Growth rate must be at least 1.");
        if (config.Compression is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(config), config.Compression, "Compression θ must be in (0, 1].");
        var spatial = new SpatialConv(options.Conv);
        var stem = new Stem(options.InChannels, config.Stem, Activation.Relu);
        var channels = stem.OutChannels;
        var stages = new List<Stage>();
        for (var b = 0; b < config.Blocks.Count; b++)
        {
            if (config.Blocks[b] < 1) throw new ArgumentException($"{config.Name}: every dense block needs at least one layer (block {b} has {config.Blocks[b]}).", nameof(config));
            var layers = new List<nn.Module<Tensor, Tensor>>();
            for (var i = 0; i < config.Blocks[b]; i++)
            {
                layers.Add(new DenseLayer(channels, config.Growth, config.Bottleneck ? config.BottleneckWidth * config.Growth : null, spatial));
                channels += config.Growth;
            }
            DenseTransition? transition = null;
            if (b < config.Blocks.Count - 1)
            {
                var outChannels = (int)Math.Floor(channels * config.Compression);
                transition = new DenseTransition(channels, outChannels);
                channels = outChannels;
            }
            stages.Add(new Stage(layers, transition));
        }
        return new ConvNet(config.Name, stem, stages, new ClassifierHead(channels, options.NumClasses, new HeadConfig(FcBias: config.FcBias), Activation.Relu));
    }

    /// <summary>The CIFAR DenseNet of the paper's sweep (§3.1.1): 3×3 stem to 2g, three blocks of <paramref name="layersPerBlock"/>
    /// BN-ReLU-k×k layers, transitions BN-ReLU-1×1 (C→C) and 2×2 average pool, head BN-ReLU-GAP-FC with bias. Depth 3N+4.</summary>
    public static DenseNetConfig CifarConfig(int layersPerBlock, int growth = 12) =>
        new($"densenet_cifar_{3 * layersPerBlock + 4}_g{growth}", growth, [layersPerBlock, layersPerBlock, layersPerBlock], false, 1.0, new StemConfig(2 * growth));

    /// <summary>The CIFAR DenseNet with <paramref name="layersPerBlock"/> layers per block; see <see cref="CifarConfig"/>.</summary>
    public static ConvNet Cifar(int layersPerBlock, ModelOptions options, int growth = 12) => Create(CifarConfig(layersPerBlock, growth), options);

    /// <summary>CIFAR DenseNet-BC (§3.2): 3×3 stem to 2g, BC layers, compression 0.5, FC with bias.</summary>
    public static DenseNetConfig CifarBcConfig(string name, int growth, params int[] blocks) =>
        new(name, growth, blocks, true, 0.5, new StemConfig(2 * growth));

    /// <summary>DenseNet-121 (§3.3 item 5): 7×7/2 stem to 64 and max-pool, BC blocks [6,12,24,16] with g = 32, compression
    /// 0.5, FC 1024→classes with bias (the authors' code at HEAD).</summary>
    public static DenseNetConfig DenseNet121Config() =>
        new("densenet121", 32, [6, 12, 24, 16], true, 0.5, new StemConfig(64, 7, 2, MaxPool: true));
}
