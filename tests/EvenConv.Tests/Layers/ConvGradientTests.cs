using EvenConv.Layers;
using EvenConv.Ops;
using static EvenConv.Tests.Reference.TestTensors;

namespace EvenConv.Tests.Layers;

public class ConvGradientTests
{
    /// <summary>C % 4 = 1, 2 and 3; stride 1, stride 2 in the conv, stride 2 by pooling; groups, bias, dilation, both layouts.</summary>
    private static IEnumerable<ConvCase> Variants(string kind) =>
    [
        new(kind, 5, 3, Height: 5, Width: 6),
        new(kind, 6, 4, 2, StrideMode.Strided, Groups: 2, Bias: true, Height: 6, Width: 5, Layout: MemoryLayout.ChannelsLast),
        new(kind, 3, 2, 2, StrideMode.Pool, Dilation: 2, Height: 5, Width: 7),
    ];

    [Theory, MemberData(nameof(ConvKinds.Kinds), MemberType = typeof(ConvKinds))]
    public void Input_weight_and_bias_gradients_match_the_loop_reference_and_finite_differences(string kind)
    {
        foreach (var c in Variants(kind))
        {
            using var layer = new ConvUnderTest(c);
            var gy = Random(new Random(7), c.Batch, c.OutChannels, (int)c.Spec.OutputSize(c.Height), (int)c.Spec.OutputSize(c.Width));
            var (gx, gw, gb) = layer.Gradients(gy);

            var (rx, rw, rb) = layer.Reference.Backward(layer.X, layer.W, gy);
            AssertClose(rx, gx, 1e-10, $"input gradient against the reference, {c}");
            AssertClose(rw, gw, 1e-10, $"weight gradient against the reference, {c}");
            if (gb is not null) AssertClose(rb, gb, 1e-10, $"bias gradient against the reference, {c}");

            var xs = Spread(gx.Length, 200);
            var fdx = CentralDifferences(v => layer.Loss(ShapedLike(v, layer.X), gy), Flat(layer.X), xs);
            AssertClose(fdx, Pick(gx, xs), 1e-6, $"input gradient against finite differences, {c}");

            var ws = Spread(gw.Length, 200);
            var fdw = CentralDifferences(v =>
            {
                layer.SetWeight(ShapedLike(v, layer.W));
                return layer.Loss(layer.X, gy);
            }, Flat(layer.W), ws);
            layer.SetWeight(layer.W);
            AssertClose(fdw, Pick(gw, ws), 1e-6, $"weight gradient against finite differences, {c}");
        }
    }
}
