using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Analysis;

/// <summary>
/// The deterministic reconstruction of the paper's erosion experiment (paper.md §1.3, Decision 6a): a constant
/// input passes through <see cref="Stages"/> × <see cref="LayersPerStage"/> linear k×k mean filters, with a 2×2
/// average pool (stride 2) before the first layer of every later stage.
/// </summary>
/// <param name="Size">Input height and width (32).</param>
/// <param name="LayersPerStage">Mean-filter layers per stage (18).</param>
/// <param name="Stages">Stages (3): 32×32 → 16×16 → 8×8.</param>
/// <param name="Value">The constant input value (0.5: the mean of an image in [0, 1]).</param>
public sealed record ErosionSetup(int Size = 32, int LayersPerStage = 18, int Stages = 3, double Value = 0.5)
{
    /// <summary>Total layers (54).</summary>
    public int Layers => LayersPerStage * Stages;

    /// <summary>Layer indices after which the map is pooled (18, 36): the stage boundaries of the plot.</summary>
    public IReadOnlyList<int> StageBoundaries => Enumerable.Range(1, Stages - 1).Select(s => s * LayersPerStage).ToList();

    /// <summary>Checks the numbers; the map must stay at least 1×1 after the pools.</summary>
    public ErosionSetup Validate()
    {
        if (LayersPerStage < 1) throw new ArgumentOutOfRangeException(nameof(LayersPerStage), LayersPerStage, "Use at least one layer per stage.");
        if (Stages < 1 || Size >> (Stages - 1) < 1)
            throw new ArgumentOutOfRangeException(nameof(Stages), Stages, $"{Stages} stages halve a {Size}×{Size} input below 1×1; use fewer stages or a larger input.");
        if (!double.IsFinite(Value)) throw new ArgumentOutOfRangeException(nameof(Value), Value, "The input value must be finite.");
        return this;
    }
}

/// <summary>Q_n for n = 0…L of one kernel kind, and the final feature map.</summary>
/// <param name="Kind">The kernel kind.</param>
/// <param name="Q">Q_n = mean |F_n| for n = 0 (the input) … L.</param>
/// <param name="FinalMap">F_L, the last map (8×8 for the paper's setup), [row, column].</param>
public sealed record ErosionCurve(ConvKind Kind, IReadOnlyList<double> Q, double[,] FinalMap);

/// <summary>Runs <see cref="ErosionSetup"/> for any kernel kind with EvenConv's own convolution layers.</summary>
public static class ErosionReconstruction
{
    // Four identical channels: a symmetric layer then applies each of its four padding groups to one channel, and
    // a mean over all channels and taps makes every output channel the mean of the four group outputs (C2sp, C4sp);
    // for the other kinds four identical channels reduce to a single-channel mean filter.
    private const int Channels = 4;

    /// <summary>Runs the reconstruction for <paramref name="kind"/> in float64.</summary>
    public static ErosionCurve Run(ConvKind kind, ErosionSetup? setup = null)
    {
        setup = (setup ?? new ErosionSetup()).Validate();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var k = kind.KernelSize;
        using var filter = Conv.Create(new ConvSpec(Channels, Channels, kind), w => w.fill_(1.0 / (Channels * k * k)), MemoryLayout.Nchw);
        filter.to(ScalarType.Float64);
        var x = full(1, Channels, setup.Size, setup.Size, setup.Value, dtype: ScalarType.Float64);
        var q = new List<double>(setup.Layers + 1) { Q(x) };
        for (var n = 1; n <= setup.Layers; n++)
        {
            if (n > 1 && (n - 1) % setup.LayersPerStage == 0) x = F.avg_pool2d(x, 2, 2);
            x = filter.call(x);
            q.Add(Q(x));
        }
        return new ErosionCurve(kind, q, MapStatistics.ToArray(x[0, 0]));
    }

    /// <summary>Runs every kind in <paramref name="kinds"/>.</summary>
    public static IReadOnlyList<ErosionCurve> Run(IEnumerable<ConvKind> kinds, ErosionSetup? setup = null) =>
        kinds.Select(k => Run(k, setup)).ToList();

    /// <summary>Q = mean |F| over all elements: the paper's information quantity.</summary>
    public static double Q(Tensor features) => features.abs().mean().ToDouble();
}
