using EvenConv.Layers;
using static TorchSharp.torch;

namespace EvenConv.Tests.Layers;

public class ConvShapeTests
{
    private static readonly (int H, int W)[] Sizes = [(1, 1), (1, 4), (2, 3), (5, 5), (6, 9), (8, 8), (13, 10)];

    [Theory, MemberData(nameof(ConvKinds.Kinds), MemberType = typeof(ConvKinds))]
    public void Stride_one_keeps_the_spatial_size_for_every_kind(string kind)
    {
        using var conv = Conv.Create(kind, 5, 7);
        foreach (var (h, w) in Sizes)
        {
            using var y = conv.call(randn(2, 5, h, w));
            Assert.Equal([2L, 7, h, w], y.shape);
        }
    }

    [Theory, MemberData(nameof(ConvKinds.Kinds), MemberType = typeof(ConvKinds))]
    public void A_stride_halves_even_sizes_and_rounds_odd_sizes_up_in_both_modes(string kind)
    {
        foreach (var mode in new[] { StrideMode.Strided, StrideMode.Pool })
            foreach (var stride in new[] { 2, 3 })
            {
                using var conv = Conv.Create(kind, 4, 3, stride, mode);
                foreach (var (h, w) in Sizes)
                {
                    using var y = conv.call(randn(1, 4, h, w));
                    long expectedH = (h + stride - 1) / stride, expectedW = (w + stride - 1) / stride;
                    Assert.Equal([1L, 3, expectedH, expectedW], y.shape);
                    Assert.Equal(expectedH, conv.Spec.OutputSize(h));
                }
            }
    }
}
