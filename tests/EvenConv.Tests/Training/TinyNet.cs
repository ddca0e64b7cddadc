using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace EvenConv.Tests.Training;

/// <summary>conv 3×3 → BN → ReLU → global average pool → linear: enough to train, small enough for tests.</summary>
internal sealed class TinyNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly Linear fc;

    public TinyNet(int inChannels, int classes, int width = 6) : base("tiny")
    {
        conv = Conv2d(inChannels, width, 3, padding: 1, bias: false);
        bn = BatchNorm2d(width);
        fc = Linear(width, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(bn.call(conv.call(x)));
        return fc.call(functional.adaptive_avg_pool2d(h, 1).flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>A network whose output becomes NaN from the given call on.</summary>
internal sealed class PoisonedNet(Module<Tensor, Tensor> inner, int poisonAtCall) : Module<Tensor, Tensor>("poisoned")
{
    private readonly Module<Tensor, Tensor> inner = inner;
    private int _calls;

    public override Tensor forward(Tensor x)
    {
        var y = inner.call(x);
        return ++_calls >= poisonAtCall && training ? y * float.NaN : y;
    }

    public void Register() => RegisterComponents();
}
