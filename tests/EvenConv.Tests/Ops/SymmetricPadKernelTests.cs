using EvenConv.Ops;
using static TorchSharp.torch;

namespace EvenConv.Tests.Ops;

/// <summary>The standalone symmetric padding against plain loops, in both memory layouts, and its gradient.</summary>
public class SymmetricPadKernelTests
{
    [Theory]
    [InlineData(8, 2, 1, false), InlineData(7, 2, 1, true), InlineData(5, 4, 1, true), InlineData(6, 4, 1, false),
     InlineData(3, 2, 2, true), InlineData(1, 2, 1, false), InlineData(13, 6, 1, true), InlineData(16, 2, 1, true),
     InlineData(32, 2, 1, true), InlineData(34, 4, 1, true)]
    public void Pads_every_group_towards_its_corner_as_a_loop_reference_does(int c, int k, int d, bool channelsLast)
    {
        manual_seed(4);
        var x = TensorLayout.To(randn(2, c, 5, 4, dtype: float64), channelsLast ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw);
        var padded = SymmetricPad.Apply(x, k, d);
        Assert.True(padded.allclose(LoopReference(x, k, d), rtol: 0, atol: 0));
        if (channelsLast && c > 1) Assert.True(TensorLayout.IsChannelsLast(padded), "the result keeps the input's layout");
    }

    [Theory]
    [InlineData(7, 2, false), InlineData(9, 4, true), InlineData(2, 2, true)]
    public void Gradient_matches_finite_differences(int c, int k, bool channelsLast)
    {
        manual_seed(8);
        var x = TensorLayout.To(randn(2, c, 4, 3, dtype: float64), channelsLast ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw).requires_grad_();
        var upstream = randn_like(SymmetricPad.Apply(x, k));
        var analytic = autograd.grad([SymmetricPad.Apply(x, k)], [x], [upstream])[0];
        var numeric = FiniteDifferences.Gradient(() => (SymmetricPad.Apply(x, k) * upstream).sum().item<double>(), x);
        Assert.True(analytic.allclose(numeric, rtol: 1e-6, atol: 1e-7));
    }

    /// <summary>Element by element: group g of C (the first C % 4 groups one larger) is shifted by its corner's offset.</summary>
    private static Tensor LoopReference(Tensor x, int k, int d)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var pads = SymmetricPadding.GroupPadding(k, d);
        long extra = pads[0].Top + pads[0].Bottom;
        var src = x.contiguous().data<double>().ToArray();
        var dst = new double[n * c * (h + extra) * (w + extra)];
        long q = c / 4, r = c % 4;
        for (long ch = 0, start = 0, g = 0; g < 4; start += q + (g < r ? 1 : 0), g++)
            for (ch = start; ch < start + q + (g < r ? 1 : 0); ch++)
                for (long b = 0; b < n; b++)
                    for (long i = 0; i < h; i++)
                        for (long j = 0; j < w; j++)
                            dst[((b * c + ch) * (h + extra) + i + pads[g].Top) * (w + extra) + j + pads[g].Left] = src[((b * c + ch) * h + i) * w + j];
        return tensor(dst, [n, c, h + extra, w + extra]);
    }
}
