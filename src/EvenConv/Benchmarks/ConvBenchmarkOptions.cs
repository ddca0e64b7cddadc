using EvenConv.Ops;

namespace EvenConv.Benchmarks;

/// <summary>One input shape of the convolution benchmark: batch, channels (in = out) and a square spatial size.</summary>
public readonly record struct ConvBenchmarkShape(int Batch, int Channels, int Size)
{
    public override string ToString() => $"N{Batch} C{Channels} {Size}×{Size}";

    /// <summary>True for the CIFAR-size shapes (batch 128, 32×32 and below), where the speed targets apply.</summary>
    public bool IsCifar => Batch == 128 && Size <= 32;
}

/// <summary>What <see cref="ConvBenchmark"/> measures and how hard it tries.</summary>
public sealed record ConvBenchmarkOptions
{
    /// <summary>The shapes of the issue: the CIFAR ResNet stages at batch 128, and an ImageNet-like stage at batch 32.</summary>
    public static IReadOnlyList<ConvBenchmarkShape> StandardShapes { get; } =
        [new(128, 16, 32), new(128, 32, 16), new(128, 64, 8), new(128, 64, 32), new(32, 256, 14)];

    /// <summary>Fewer shapes for a quick look: the smallest and the largest CIFAR stage.</summary>
    public static IReadOnlyList<ConvBenchmarkShape> QuickShapes { get; } = [new(128, 16, 32), new(128, 64, 8)];

    public IReadOnlyList<ConvBenchmarkShape> Shapes { get; init; } = StandardShapes;

    /// <summary>Variants to run, by name (see <see cref="ConvVariant.Names"/>); C3 always runs, as the reference.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = ConvVariant.Names;

    /// <summary>Interleaved rounds: each round times every variant once, so drifts in machine load hit all alike.</summary>
    public int Rounds { get; init; } = 15;

    /// <summary>Untimed calls of each variant before the first round (first calls pay for oneDNN primitive creation).</summary>
    public int WarmupCalls { get; init; } = 3;

    /// <summary>A sample repeats the call until it lasts at least this long, so timer resolution and per-call jitter fade.</summary>
    public double MinSampleMilliseconds { get; init; } = 20;

    /// <summary>Memory layout of inputs, weights and gradients.</summary>
    public MemoryLayout Layout { get; init; } = TensorLayout.Default;

    /// <summary>Also time a large 3×3 convolution, the practical GFLOP/s ceiling of this machine.</summary>
    public bool MeasurePeak { get; init; } = true;

    public int Seed { get; init; } = 1;

    /// <summary>Fewer shapes and rounds.</summary>
    public static ConvBenchmarkOptions Quick => new() { Shapes = QuickShapes, Rounds = 7, MinSampleMilliseconds = 10 };
}
