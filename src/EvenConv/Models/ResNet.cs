using EvenConv.Layers;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>Block type of a ResNet.</summary>
public enum ResNetBlock
{
    /// <summary>Two k×k convolutions.</summary>
    Basic,
    /// <summary>1×1 → k×k → 1×1 with an inner width of out/ratio.</summary>
    Bottleneck,
}

/// <summary>One stage: <paramref name="Blocks"/> blocks ending in <paramref name="OutChannels"/> channels; the first has
/// stride <paramref name="Stride"/>.</summary>
public sealed record StageConfig(int Blocks, int OutChannels, int Stride);

/// <summary>A pre-activation ResNet: every variant of the family is one of these.</summary>
public sealed record ResNetConfig(
    string Name,
    ResNetBlock Block,
    StemConfig Stem,
    IReadOnlyList<StageConfig> Stages,
    HeadConfig Head,
    StrideMode StrideMode = StrideMode.Strided,
    ShortcutInput Shortcut = ShortcutInput.Raw,
    Activation Activation = Activation.Relu,
    int BottleneckRatio = 4,
    bool Separable = false);

/// <summary>
/// Pre-activation ResNets of the paper, as configurations of one builder: the CIFAR sweep family (§3.1.1), the
/// depthwise-separable CIFAR variant (§3.5) and the ImageNet ResNet-50 rows (§3.3 items 1–4).
/// </summary>
public static class ResNet
{
    /// <summary>Builds the network; every spatial convolution has <paramref name="options"/>.Conv.</summary>
    public static ConvNet Create(ResNetConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        options.Validate();
        var spatial = new SpatialConv(options.Conv, config.StrideMode, config.Separable);
        var stem = new Stem(options.InChannels, config.Stem, config.Activation);
        var stages = new List<Stage>();
        var channels = stem.OutChannels;
        foreach (var s in config.Stages)
        {
            if (s.Blocks < 1) throw new ArgumentException($"{config.Name}: every stage needs at least one block (got {s.Blocks}).", nameof(config));
            stages.Add(Stage.OfBlocks(channels, s.OutChannels, s.Blocks, s.Stride, (cin, cout, stride) => config.Block == ResNetBlock.Basic
                ? new PreActBasicBlock(cin, cout, stride, spatial, config.Activation, config.Shortcut)
                : new PreActBottleneckBlock(cin, cout, cout / config.BottleneckRatio, stride, spatial, config.Activation, config.Shortcut)));
            channels = s.OutChannels;
        }
        return new ConvNet(config.Name, stem, stages, new ClassifierHead(channels, options.NumClasses, config.Head, config.Activation));
    }

    /// <summary>
    /// The CIFAR ResNet of the paper's sweep (§3.1.1): 3×3 stem to 16 channels, three stages of <paramref name="n"/>
    /// blocks at widths 16/32/64 (bottleneck: outputs 64/128/256, inner 16/32/64), strides 1/2/2 inside the spatial conv,
    /// a strided 1×1 projection of the raw block input, head BN-ReLU-GAP-FC without bias. Depth 6n+2 (basic) or 9n+2
    /// (bottleneck).
    /// </summary>
    public static ResNetConfig CifarConfig(int n, ResNetBlock block = ResNetBlock.Basic, bool separable = false)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "Blocks per stage must be at least 1 (n = 3 is ResNet-20).");
        var expansion = block == ResNetBlock.Basic ? 1 : 4;
        int[] widths = [16, 32, 64], strides = [1, 2, 2];
        return new ResNetConfig(
            $"resnet{CifarDepth(n, block)}{(block == ResNetBlock.Bottleneck ? "_bottleneck" : "")}{(separable ? "_dws" : "")}",
            block,
            new StemConfig(16),
            widths.Select((w, i) => new StageConfig(n, w * expansion, strides[i])).ToList(),
            new HeadConfig(FcBias: false),
            Separable: separable);
    }

    /// <summary>The CIFAR ResNet with <paramref name="n"/> blocks per stage; see <see cref="CifarConfig"/>.</summary>
    public static ConvNet Cifar(int n, ModelOptions options, ResNetBlock block = ResNetBlock.Basic, bool separable = false) =>
        Create(CifarConfig(n, block, separable), options);

    /// <summary>Depth of the CIFAR ResNet with n blocks per stage: 6n+2 (basic) or 9n+2 (bottleneck).</summary>
    public static int CifarDepth(int n, ResNetBlock block = ResNetBlock.Basic) => (block == ResNetBlock.Basic ? 6 : 9) * n + 2;

    /// <summary>Blocks per stage for a CIFAR ResNet depth (20 → 3, 164 bottleneck → 18).</summary>
    public static int CifarBlocksForDepth(int depth, ResNetBlock block = ResNetBlock.Basic)
    {
        var layersPerBlock = block == ResNetBlock.Basic ? 6 : 9;
        if (depth < layersPerBlock + 2 || (depth - 2) % layersPerBlock != 0)
            throw new ArgumentException($"A {block.ToString().ToLowerInvariant()} CIFAR ResNet has depth {layersPerBlock}n+2 ({layersPerBlock + 2}, {2 * layersPerBlock + 2}, ...); {depth} is not one.", nameof(depth));
        return (depth - 2) / layersPerBlock;
    }

    /// <summary>ResNet-50, pre-activation (§3.3 items 1–2): 7×7/2 stem to 64 and max-pool, stages [3,4,6,3] of bottlenecks
    /// with outputs 256…2048, stride 2 as a 2×2 average pool before the stride-1 spatial conv and before the 1×1
    /// projection of the pre-activated input, ReLU, head BN-ReLU-GAP-FC with bias.</summary>
    public static ResNetConfig ResNet50Config() => ImageNetBottleneck("resnet50", 64, [3, 4, 6, 3], [256, 512, 1024, 2048], [1, 2, 2, 2], Activation.Relu, new HeadConfig());

    /// <summary>ResNet-50 0.5x (§3.3 item 3): as ResNet-50 with outputs 128…1024 (the stem keeps 64 channels) and ReLU6.</summary>
    public static ResNetConfig ResNet50HalfConfig() => ImageNetBottleneck("resnet50_0.5x", 64, [3, 4, 6, 3], [128, 256, 512, 1024], [1, 2, 2, 2], Activation.Relu6, new HeadConfig());

    /// <summary>ResNet-50 0.5x "C2sp optim" (§3.3 item 4): 3×3/2 stem to 48 without max-pool, five stages [1,2,4,8,4] with
    /// outputs 48…768 and strides [1,2,2,2,2], ReLU6, then BN-ReLU6 → 1×1 to 1536 → BN-ReLU6 → GAP → dropout 0.2 → FC.</summary>
    public static ResNetConfig ResNet50C2spOptimConfig() =>
        ImageNetBottleneck("resnet50_c2sp_optim", 48, [1, 2, 4, 8, 4], [48, 96, 192, 384, 768], [1, 2, 2, 2, 2], Activation.Relu6,
            new HeadConfig(ConvChannels: 1536, NormBeforeConv: true, Dropout: 0.2), stem: new StemConfig(48, 3, 2));

    private static ResNetConfig ImageNetBottleneck(string name, int stemChannels, int[] repeats, int[] outs, int[] strides, Activation activation,
        HeadConfig head, StemConfig? stem = null) =>
        new(name, ResNetBlock.Bottleneck,
            stem ?? new StemConfig(stemChannels, 7, 2, MaxPool: true),
            repeats.Select((r, i) => new StageConfig(r, outs[i], strides[i])).ToList(),
            head, StrideMode.Pool, ShortcutInput.PreActivated, activation);
}
