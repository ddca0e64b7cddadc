using EvenConv.Layers;
using EvenConv.Ops;
using EvenConv.Ops.Routing;
using EvenConv.Tests.Reference;
using static EvenConv.Tests.Reference.TestTensors;
using static TorchSharp.torch;

namespace EvenConv.Tests.Ops.Routing;

/// <summary>The im2col GEMM convolution (the fallback where oneDNN is wrong) against the float64 loops of
/// <see cref="ReferenceConv"/>: values and all three gradients, with padding, stride, dilation and groups.</summary>
public class GemmConvTests
{
    [Theory]
    [InlineData("c3", 1, 1, 1, MemoryLayout.ChannelsLast)]
    [InlineData("c3", 2, 1, 2, MemoryLayout.Nchw)]
    [InlineData("c5", 1, 2, 1, MemoryLayout.ChannelsLast)]
    [InlineData("c3", 1, 1, 4, MemoryLayout.Nchw)]
    [InlineData("c1", 2, 1, 2, MemoryLayout.ChannelsLast)]
    public void Matches_the_float64_reference_in_value_and_gradients(string kind, int stride, int dilation, int groups, MemoryLayout layout)
    {
        var rng = new Random(11);
        const int n = 2, c = 4, o = 8, h = 9, w = 7;
        var spec = new ConvSpec(c, o, ConvKind.Parse(kind), stride, Groups: groups, Bias: true, Dilation: dilation);
        var reference = new ReferenceConv(spec);
        var k = spec.Kind.KernelSize;
        var x = Random(rng, n, c, h, w);
        var kernel = Random(rng, o, c / groups, k, k);
        var b = RandomVector(rng, o);

        using var scope = NewDisposeScope();
        var xt = ToTensor(x, ScalarType.Float32, layout).requires_grad_(true);
        var kt = ToTensor(kernel, ScalarType.Float32, layout).requires_grad_(true);
        var bt = tensor(b.Select(v => (float)v).ToArray()).requires_grad_(true);
        var y = GemmConv.Apply(xt, kt, bt, stride, dilation * (k - 1) / 2, dilation, groups);

        var expected = reference.Forward(x, kernel, b);
        AssertClose(expected, ToArray(y), 1e-5, "forward");
        Assert.Equal(layout == MemoryLayout.ChannelsLast, TensorLayout.IsChannelsLast(y));
        var gy = Random(rng, n, o, expected.GetLength(2), expected.GetLength(3));
        y.backward([ToTensor(gy, ScalarType.Float32)]);
        var (gx, gw, gb) = reference.Backward(x, kernel, gy);
        AssertClose(gx, ToArray(xt.grad!), 1e-5, "input gradient");
        AssertClose(gw, ToArray(kt.grad!), 1e-5, "weight gradient");
        AssertClose(gb, ToVector(bt.grad!), 1e-5, "bias gradient");
    }
}
