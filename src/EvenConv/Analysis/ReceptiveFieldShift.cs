using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Analysis;

/// <summary>Which output units the effective receptive field is taken of.</summary>
public enum ErfTarget
{
    /// <summary>The unit at the centre of the map (row ⌊(h−1)/2⌋, column ⌊(w−1)/2⌋), all channels: border-free when
    /// the input is larger than the receptive field.</summary>
    CentralUnit,
    /// <summary>All units of the map: includes what zero padding at the borders does.</summary>
    AllUnits,
}

/// <summary>How <see cref="ReceptiveFieldShift"/> measures.</summary>
public sealed record ErfOptions
{
    /// <summary>Which units; see <see cref="ErfTarget"/>.</summary>
    public ErfTarget Target { get; init; } = ErfTarget.CentralUnit;

    /// <summary>Measure only main-path layers (skip shortcut branches).</summary>
    public bool MainPathOnly { get; init; } = true;

    /// <summary>Measure every n-th layer, plus the last layer of every map size (each backward pass costs about a
    /// forward pass up to that layer, so deep networks on large inputs take a while).</summary>
    public int Every { get; init; } = 1;

    /// <summary>First give batch norm the statistics of random inputs (<see cref="BatchNormCalibration"/>; restored
    /// afterwards): for freshly initialised networks, whose running statistics mean nothing.</summary>
    public bool CalibrateBatchNorm { get; init; }

    /// <summary>Random inputs the receptive field is summed over. The gradient of a linear network does not depend on
    /// the input; with ReLUs it does (which units are active), and one input can leave the central unit dead.</summary>
    public int Samples { get; init; } = 4;

    /// <summary>Seed of the uniform [0, 1) inputs.</summary>
    public long Seed { get; init; } = 1;
}

/// <summary>Measured offset of one layer: the effective-receptive-field centroid minus the nominal position.</summary>
/// <param name="Layer">The layer, with its analytic geometry.</param>
/// <param name="OffsetY">Measured vertical offset, input pixels (compare <see cref="ShiftLayer.OffsetY"/>).</param>
/// <param name="OffsetX">Measured horizontal offset, input pixels.</param>
public sealed record MeasuredShift(ShiftLayer Layer, double OffsetY, double OffsetX);

/// <summary>
/// Measures layer offsets on a real network from gradients: the effective receptive field (|∂ output unit / ∂ input|,
/// summed over input channels, after Luo et al. 2016) has a centroid; its distance from the unit's nominal position
/// <c>(s−1)/2 + s·i</c> is the offset the analytic trace predicts. Exact for linear stacks with positive kernels when
/// the receptive field stays inside the input; for trained networks it is the measured drift.
/// </summary>
public static class ReceptiveFieldShift
{
    /// <summary>Measures the layers of <paramref name="model"/> on random inputs of the given size.</summary>
    public static IReadOnlyList<MeasuredShift> Measure(nn.Module<Tensor, Tensor> model, long channels, long height, long width, ErfOptions? options = null)
    {
        options ??= new ErfOptions();
        if (options.Every < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Every, "Every must be at least 1 (1 measures every layer).");
        if (options.Samples < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Samples, "Use at least one random input.");
        var plan = ShiftTracer.Trace(model, channels, height, width);
        var candidates = plan.Layers.Where(l => l.MainPath || !options.MainPathOnly).ToList();
        var wanted = candidates
            .Where((l, i) => i % options.Every == options.Every - 1 || i == candidates.Count - 1
                             || candidates[i + 1].Height != l.Height || candidates[i + 1].Width != l.Width)
            .Select(l => l.Index).ToHashSet();

        // Measured in float64: gradients exact to rounding of 1e-16 rather than float32's, and computed by libtorch's own
        // loops rather than oneDNN's CPU kernels, which on some hosts return wrong input gradients (4→4 2×2 NCHW on a
        // 193² map: a quarter of the receptive field; at worst none, the NaN offsets seen there). Converting back is exact.
        var dtype = model.parameters().Select(p => p.dtype).FirstOrDefault(ScalarType.Float32);
        if (dtype == ScalarType.Float64) return MeasureInFloat64(model, channels, height, width, options, wanted);
        model.to(ScalarType.Float64);
        try { return MeasureInFloat64(model, channels, height, width, options, wanted); }
        finally { model.to(dtype); }
    }

    private static IReadOnlyList<MeasuredShift> MeasureInFloat64(nn.Module<Tensor, Tensor> model, long channels, long height, long width, ErfOptions options, HashSet<int> wanted)
    {
        // Only the input needs a gradient: freeze the parameters so autograd skips their gradients.
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        foreach (var p in parameters) p.requires_grad = false;
        using var generator = new Generator((ulong)options.Seed);
        using var calibration = options.CalibrateBatchNorm
            ? BatchNormCalibration.Calibrate(model, () => rand([2, channels, height, width], ScalarType.Float64, generator: generator))
            : null;
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var outputs = new List<(ShiftLayer Layer, Tensor Output)>();
        try
        {
            var input = rand([options.Samples, channels, height, width], ScalarType.Float64, generator: generator).requires_grad_(true);
            // Keep a copy of each output as the layer made it (a block may add its shortcut in place afterwards, and
            // may dispose intermediates with its own dispose scope): clone() pins the value and stays in the graph.
            ShiftTracer.Trace(model, input, (layer, output) =>
            {
                if (wanted.Contains(layer.Index)) outputs.Add((layer, output.clone().DetachFromDisposeScope()));
            });
            return outputs.Select(o => Centroid(o.Layer, o.Output, input, options.Target)).ToList();
        }
        finally
        {
            foreach (var (_, output) in outputs) output.Dispose();
            foreach (var p in parameters) p.requires_grad = true;
        }
    }

    private static MeasuredShift Centroid(ShiftLayer layer, Tensor output, Tensor input, ErfTarget target)
    {
        using var step = NewDisposeScope();
        long h = output.shape[2], w = output.shape[3], cy = (h - 1) / 2, cx = (w - 1) / 2;
        var unit = target == ErfTarget.CentralUnit ? output[.., .., (int)cy, (int)cx].sum() : output.sum();
        var g = autograd.grad([unit], [input], retain_graph: true)[0];
        var centroid = MapStatistics.Centroid(MapStatistics.ToArray(g.abs().sum([0, 1])));
        if (centroid.Mass == 0)
            throw new EvenConvException($"{layer.Name}: the output's gradient with respect to the input is zero everywhere (its units are dead for every random input), so its receptive field has no centre; measure with more random inputs (ErfOptions.Samples) or with ErfTarget.AllUnits.");
        // Nominal position: the unit's place (s−1)/2 + s·i on a grid of the layer's scale aligned with the image.
        double sy = layer.Y.Scale, sx = layer.X.Scale;
        var (ny, nx) = target == ErfTarget.CentralUnit
            ? ((sy - 1) / 2 + sy * cy, (sx - 1) / 2 + sx * cx)
            : ((sy - 1) / 2 + sy * (h - 1) / 2.0, (sx - 1) / 2 + sx * (w - 1) / 2.0);
        return new MeasuredShift(layer, centroid.Y - ny, centroid.X - nx);
    }
}
