using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Models;

public class GroupShiftTests
{
    /// <summary>Direct float64 loops: y[n,c,i,j] = x[n,c,i−dy,j−dx] with (dy,dx) of c's group, zero outside.</summary>
    private static double[,,,] Reference(double[,,,] x)
    {
        int n = x.GetLength(0), c = x.GetLength(1), h = x.GetLength(2), w = x.GetLength(3);
        var y = new double[n, c, h, w];
        var sizes = GroupShift.GroupSizes(c);
        for (int ch = 0, g = 0, inGroup = 0; ch < c; ch++)
        {
            while (inGroup >= sizes[g]) { g++; inGroup = 0; }
            inGroup++;
            var (dy, dx) = GroupShift.Offsets[g];
            for (var b = 0; b < n; b++)
                for (var i = 0; i < h; i++)
                    for (var j = 0; j < w; j++)
                    {
                        int si = i - dy, sj = j - dx;
                        y[b, ch, i, j] = si >= 0 && si < h && sj >= 0 && sj < w ? x[b, ch, si, sj] : 0;
                    }
        }
        return y;
    }

    [Theory]
    [InlineData(18), InlineData(11), InlineData(5)]
    public void Forward_matches_direct_loops(int channels)
    {
        var x = randn([2, channels, 4, 5], dtype: float64);
        var data = x.data<double>().ToArray();
        var xa = new double[2, channels, 4, 5];
        Buffer.BlockCopy(data, 0, xa, 0, data.Length * sizeof(double));
        var expected = Reference(xa);
        var flat = new double[expected.Length];
        Buffer.BlockCopy(expected, 0, flat, 0, flat.Length * sizeof(double));
        using var y = new GroupShiftLayer().call(x);
        Assert.Equal(flat, y.contiguous().data<double>().ToArray());
    }

    [Fact]
    public void Group_sizes_put_the_remainder_first()
    {
        Assert.Equal([2L, 2, 1, 1, 1, 1, 1, 1, 1], GroupShift.GroupSizes(11));
        Assert.Equal([1L, 1, 1, 1, 1, 0, 0, 0, 0], GroupShift.GroupSizes(5));
    }

    [Fact]
    public void Backward_is_the_adjoint_of_the_shift()
    {
        // For a linear map S, <S x, g> = <x, Sᵀ g>; autograd gives Sᵀ g as the gradient of <S x, g>.
        var x = randn([2, 20, 5, 6], dtype: float64, requires_grad: true);
        var g = randn([2, 20, 5, 6], dtype: float64);
        var y = GroupShift.Apply(x);
        (y * g).sum().backward();
        var lhs = (y * g).sum().item<double>();
        var rhs = (x * x.grad!).sum().item<double>();
        Assert.Equal(lhs, rhs, 10);
        // Each gradient entry is g moved back: the gradient of the unshifted centre group is g itself.
        var sizes = GroupShift.GroupSizes(20);
        var centreStart = sizes.Take(4).Sum();
        Assert.True(x.grad!.narrow(1, centreStart, sizes[4]).allclose(g.narrow(1, centreStart, sizes[4])));
    }

    [Fact]
    public void Keeps_channels_last_layout()
    {
        var x = TensorLayout.To(randn(2, 9, 4, 4), MemoryLayout.ChannelsLast);
        using var y = GroupShift.Apply(x);
        Assert.True(TensorLayout.IsChannelsLast(y));
    }
}
