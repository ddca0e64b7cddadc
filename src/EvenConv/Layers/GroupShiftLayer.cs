using EvenConv.Ops;
using static TorchSharp.torch;

namespace EvenConv.Layers;

/// <summary>The 9-direction group shift (<see cref="GroupShift"/>) as a layer: no parameters, no multiply-adds; a spatial
/// operation that lets 1×1 convolutions around it see a 3×3 neighbourhood.</summary>
public sealed class GroupShiftLayer : nn.Module<Tensor, Tensor>
{
    public GroupShiftLayer() : base("shift") { }

    public override Tensor forward(Tensor input) => GroupShift.Apply(input);
}
