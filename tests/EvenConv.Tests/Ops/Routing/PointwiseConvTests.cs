using EvenConv.Layers;
using EvenConv.Ops;
using EvenConv.Ops.Routing;
using EvenConv.Tests.Reference;
using static EvenConv.Tests.Reference.TestTensors;
using static TorchSharp.torch;

namespace EvenConv.Tests.Ops.Routing;

/// <summary>The GEMM 1×1 convolution against the float64 loops of <see cref="ReferenceConv"/>: values and all three
/// gradients, in both layouts, with stride and bias.</summary>
public class PointwiseConvTests
{
    [Theory]
    [InlineData(MemoryLayout.ChannelsLast, 1, true)]
    [InlineData(MemoryLayout.ChannelsLast, 2, false)]
    [InlineData(MemoryLayout.Nchw, 1, false)]
    [InlineData(MemoryLayout.Nchw, 2, true)]
    public void Matches_the_float64_reference_in_value_and_gradients(MemoryLayout layout, int stride, bool bias)
    {
        var rng = new Random(7 + stride);
        const int n = 2, c = 5, o = 6, h = 7, w = 6;
        var spec = new ConvSpec(c, o, ConvKind.C1, stride, Bias: bias);
        var reference = new ReferenceConv(spec);
        var x = Random(rng, n, c, h, w);
        var k = Random(rng, o, c, 1, 1);
        var b = bias ? RandomVector(rng, o) : null;

        using var scope = NewDisposeScope();
        var xt = ToTensor(x, ScalarType.Float32, layout).requires_grad_(true);
        var kt = ToTensor(k, ScalarType.Float32, layout).requires_grad_(true);
        var bt = b is null ? null : tensor(b.Select(v => (float)v).ToArray()).requires_grad_(true);
        var y = PointwiseConv.Apply(xt, kt, bt, stride);

        var expected = reference.Forward(x, k, b);
        AssertClose(expected, ToArray(y), 1e-5, "forward");
        if (layout == MemoryLayout.ChannelsLast) Assert.True(TensorLayout.IsChannelsLast(y), "a channels_last input gives a channels_last output");

        var gy = Random(rng, n, o, expected.GetLength(2), expected.GetLength(3));
        y.backward([ToTensor(gy, ScalarType.Float32)]);
        var (gx, gw, gb) = reference.Backward(x, k, gy);
        AssertClose(gx, ToArray(xt.grad!), 1e-5, "input gradient");
        AssertClose(gw, ToArray(kt.grad!), 1e-5, "weight gradient");
        if (bt is not null) AssertClose(gb, ToVector(bt.grad!), 1e-5, "bias gradient");
    }

    [Fact]
    public void Rejects_a_weight_that_is_not_1x1_with_the_shape_it_needs()
    {
        using var x = zeros(1, 4, 3, 3);
        using var w = zeros(2, 4, 3, 3);
        var e = Assert.Throws<ArgumentException>(() => PointwiseConv.Apply(x, w));
        Assert.Contains("(C_out, 4, 1, 1)", e.Message, StringComparison.Ordinal);
    }
}
