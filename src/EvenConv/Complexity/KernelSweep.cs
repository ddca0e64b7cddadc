using EvenConv.Layers;
using EvenConv.Models;

namespace EvenConv.Complexity;

/// <summary>One point of the kernel-size sweep: a network of the §3.1 families counted at CIFAR size.</summary>
/// <param name="Family">"resnet_cifar" (CIFAR-10, 10 classes) or "densenet_cifar" (CIFAR-100, g = 12, 100 classes).</param>
/// <param name="Blocks">n blocks per stage (ResNet) or N layers per dense block (DenseNet).</param>
/// <param name="Depth">6n+2 or 3N+4.</param>
/// <param name="Kind">The spatial kernel kind.</param>
/// <param name="Params">Parameters.</param>
/// <param name="Macs">Multiply-accumulates per 32×32 image.</param>
public sealed record SweepPoint(string Family, int Blocks, int Depth, ConvKind Kind, long Params, long Macs);

/// <summary>
/// The x-axes of the paper's kernel-size sweep (§3.1, left and middle panels): parameters and MACs of ResNet-CIFAR with
/// n = 3, 6, …, 24 and DenseNet-CIFAR (g = 12) with N = 6, 12, …, 36, counted from the real models. C2sp and C4sp have
/// exactly the counts of C2 and C4, so the default kinds are c2, c3, c4 and c5.
/// </summary>
public static class KernelSweep
{
    /// <summary>Blocks per stage of the ResNet sweep.</summary>
    public static IReadOnlyList<int> ResNetBlocks { get; } = [3, 6, 9, 12, 15, 18, 21, 24];

    /// <summary>Layers per dense block of the DenseNet sweep.</summary>
    public static IReadOnlyList<int> DenseNetLayers { get; } = [6, 12, 18, 24, 30, 36];

    /// <summary>The kinds whose counts differ: c2 (= c2sp), c3, c4 (= c4sp), c5.</summary>
    public static IReadOnlyList<ConvKind> DefaultKinds { get; } = [ConvKind.C2, ConvKind.C3, ConvKind.C4, ConvKind.C5];

    /// <summary>Counts every point; <paramref name="progress"/> is told each finished point.</summary>
    public static IReadOnlyList<SweepPoint> Count(IReadOnlyList<ConvKind>? kinds = null, Action<SweepPoint>? progress = null)
    {
        kinds ??= DefaultKinds;
        var points = new List<SweepPoint>();
        void Add(string family, int blocks, int depth, ConvKind kind, int classes, Func<ModelOptions, TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>> build)
        {
            var options = ModelOptions.Cifar(kind, classes);
            using var model = build(options);
            var report = ModelComplexity.Count(model, options);
            var point = new SweepPoint(family, blocks, depth, kind, report.Params, report.Macs);
            points.Add(point);
            progress?.Invoke(point);
        }
        foreach (var kind in kinds)
        {
            foreach (var n in ResNetBlocks) Add("resnet_cifar", n, ResNet.CifarDepth(n), kind, 10, o => ResNet.Cifar(n, o));
            foreach (var n in DenseNetLayers) Add("densenet_cifar", n, 3 * n + 4, kind, 100, o => DenseNet.Cifar(n, o));
        }
        return points;
    }
}
