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
    /// <summary>Measures every main-path layer (or every layer) on one input of the given size, filled with
    /// <paramref name="fill"/> (a constant input keeps the measurement about the network, not about an image).</summary>
    public static IReadOnlyList<MeasuredShift> Measure(nn.Module<Tensor, Tensor> model, long channels, long height, long width,
        ErfTarget target = ErfTarget.CentralUnit, bool mainPathOnly = true, double fill = 0.5)
    {
        var plan = ShiftTracer.Trace(model, channels, height, width);
        var wanted = plan.Layers.Where(l => l.MainPath || !mainPathOnly).Select(l => l.Index).ToHashSet();
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var input = full(1, channels, height, width, fill, requires_grad: true);
        var outputs = new List<(ShiftLayer Layer, Tensor Output)>();
        // Models may dispose intermediate tensors at the end of a block's own dispose scope: keep an alias (same
        // storage, same autograd graph) outside every scope, and dispose it here.
        ShiftTracer.Trace(model, input, (layer, output) => { if (wanted.Contains(layer.Index)) outputs.Add((layer, output.alias().DetachFromDisposeScope())); });
        try
        {
            return outputs.Select(o => Centroid(o.Layer, o.Output, input, target)).ToList();
        }
        finally
        {
            foreach (var (_, output) in outputs) output.Dispose();
        }
    }

    private static MeasuredShift Centroid(ShiftLayer layer, Tensor output, Tensor input, ErfTarget target)
    {
        using var step = NewDisposeScope();
        long height = input.shape[2], width = input.shape[3];
        long h = output.shape[2], w = output.shape[3], cy = (h - 1) / 2, cx = (w - 1) / 2;
        var unit = target == ErfTarget.CentralUnit ? output[0, .., (int)cy, (int)cx].sum() : output.sum();
        var g = autograd.grad([unit], [input], retain_graph: true)[0];
        var centroid = MapStatistics.Centroid(MapStatistics.ToArray(g.abs().sum([0, 1])));
        double sy = height / (double)h, sx = width / (double)w;
        // Nominal position: the unit's place on a grid aligned with the image extent.
        var (ny, nx) = target == ErfTarget.CentralUnit
            ? ((sy - 1) / 2 + sy * cy, (sx - 1) / 2 + sx * cx)
            : ((height - 1) / 2.0, (width - 1) / 2.0);
        return new MeasuredShift(layer, centroid.Y - ny, centroid.X - nx);
    }
}
