using EvenConv.Interop.Onnx;
using EvenConv.Ops;
using static TorchSharp.torch;

namespace EvenConv.Layers;

/// <summary>The 9-direction group shift (<see cref="GroupShift"/>) as a layer: no parameters, no multiply-adds; a spatial
/// operation that lets 1×1 convolutions around it see a 3×3 neighbourhood.</summary>
public sealed class GroupShiftLayer : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    public GroupShiftLayer() : base("shift") { }

    public override Tensor forward(Tensor input) => GroupShift.Apply(input);

    /// <summary>Split into the nine groups → each group Pad by its offset then Slice back to H×W (a zero-filled shift for
    /// any spatial size) → Concat.</summary>
    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var sizes = GroupShift.GroupSizes(graph.InputShape(this)[1]);
        var used = Enumerable.Range(0, 9).Where(g => sizes[g] > 0).ToArray();
        var parts = graph.SplitChannels(input, used.Select(g => sizes[g]).ToArray());
        var shifted = used.Select((g, i) =>
        {
            var (dy, dx) = GroupShift.Offsets[g];
            if (dy == 0 && dx == 0) return parts[i];
            // y[i, j] = x[i − dy, j − dx]: pad |dy| rows on the side the content moves away from, keep H rows.
            var padded = graph.Pad(parts[i], new Padding2d(Math.Max(dy, 0), Math.Max(-dy, 0), Math.Max(dx, 0), Math.Max(-dx, 0)));
            return graph.SliceSpatial(padded, Math.Max(-dy, 0), dy > 0 ? -dy : long.MaxValue, Math.Max(-dx, 0), dx > 0 ? -dx : long.MaxValue);
        }).ToArray();
        return shifted.Length == 1 ? shifted[0] : graph.Concat(shifted);
    }
}
