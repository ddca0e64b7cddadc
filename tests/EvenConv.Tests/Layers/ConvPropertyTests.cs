using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using static EvenConv.Tests.Reference.TestTensors;
using static TorchSharp.torch;

namespace EvenConv.Tests.Layers;

public class ConvPropertyTests
{
    [Theory, InlineData(4), InlineData(8), InlineData(12)]
    public void C2sp_with_the_same_weights_in_every_group_is_the_3x3_binomial_filter(int channels)
    {
        // A channel-wise mean filter over identical channels: each group contributes one 2×2 box towards its corner,
        // and the four boxes add up to [[1,2,1],[2,4,2],[1,2,1]] — exactly, borders included, with zero padding.
        var u = Random(new Random(3), 2, 1, 6, 9);
        var x = new double[2, channels, 6, 9];
        for (var n = 0; n < 2; n++) for (var c = 0; c < channels; c++) for (var i = 0; i < 6; i++) for (var j = 0; j < 9; j++) x[n, c, i, j] = u[n, 0, i, j];
        double[,] binomial = { { 1, 2, 1 }, { 2, 4, 2 }, { 1, 2, 1 } };
        var expected = new double[2, 1, 6, 9];
        for (var n = 0; n < 2; n++)
            for (var i = 0; i < 6; i++)
                for (var j = 0; j < 9; j++)
                    for (var a = -1; a <= 1; a++)
                        for (var b = -1; b <= 1; b++)
                            if (i + a is >= 0 and < 6 && j + b is >= 0 and < 9)
                                expected[n, 0, i, j] += binomial[a + 1, b + 1] / 16 * u[n, 0, i + a, j + b];

        using var layer = Conv.Create(new ConvSpec(channels, 1, ConvKind.C2sp));
        layer.to(ScalarType.Float64);
        using (no_grad()) layer.Weight.fill_(1.0 / (4 * channels));
        using var input = ToTensor(x);
        AssertClose(expected, ToArray(layer.call(input)), 1e-12, $"C2sp mean filter, {channels} channels");
    }

    [Theory]
    [InlineData(2, 1), InlineData(2, 2), InlineData(4, 1), InlineData(4, 3), InlineData(6, 1), InlineData(8, 2)]
    public void The_four_group_window_centres_cancel_and_each_sits_half_a_dilated_pixel_off_centre(int kernel, int dilation)
    {
        var extent = dilation * (kernel - 1) + 1;
        var centres = SymmetricPadding.GroupPadding(kernel, dilation).Select(p => p.WindowCentre(extent)).ToArray();
        Assert.Equal((0.0, 0.0), (centres.Sum(c => c.Y), centres.Sum(c => c.X)));
        Assert.All(centres, c => Assert.Equal((dilation / 2.0, dilation / 2.0), (Math.Abs(c.Y), Math.Abs(c.X))));
        Assert.Equal(4, centres.Distinct().Count());
        // The plain even kernel is the shifted one; odd kernels are centred.
        Assert.Equal((0.5, 0.5), new ConvKind(kernel, PaddingScheme.Same).SinglePadding().WindowCentre(kernel));
        Assert.Equal((0.0, 0.0), new ConvKind(kernel + 1, PaddingScheme.Centered).SinglePadding(dilation).WindowCentre(dilation * kernel + 1));
    }

    [Fact]
    public void Group_table_and_split_follow_the_authors_code()
    {
        Assert.Equal([new(0, 1, 0, 1), new(1, 0, 1, 0), new(0, 1, 1, 0), new(1, 0, 0, 1)], SymmetricPadding.GroupPadding(2));
        Assert.Equal([new(1, 2, 1, 2), new(2, 1, 2, 1), new(1, 2, 2, 1), new(2, 1, 1, 2)], SymmetricPadding.GroupPadding(4));
        Assert.Equal([new(2, 3, 2, 3), new(3, 2, 3, 2), new(2, 3, 3, 2), new(3, 2, 2, 3)], SymmetricPadding.GroupPadding(6));
        Assert.Equal([1L, 0, 0, 0], SymmetricPadding.GroupSizes(1));
        Assert.Equal([1L, 1, 1, 0], SymmetricPadding.GroupSizes(3));
        Assert.Equal([2L, 1, 1, 1], SymmetricPadding.GroupSizes(5));
        Assert.Equal([4L, 3, 3, 3], SymmetricPadding.GroupSizes(13));
        Assert.Equal([4L, 4, 4, 4], SymmetricPadding.GroupSizes(16));
    }

    /// <summary>Channel order after a mirror: a left–right flip swaps the groups padded right and left (0 ↔ 2,
    /// 1 ↔ 3), an up–down flip those padded bottom and top (0 ↔ 3, 1 ↔ 2). Two channels per group.</summary>
    private static long[] MirroredChannels(int axis) => axis == 3 ? [4, 5, 6, 7, 0, 1, 2, 3] : [6, 7, 4, 5, 2, 3, 0, 1];

    [Theory]
    [InlineData("c2sp", 1), InlineData("c4sp", 1), InlineData("c6sp", 1), InlineData("c3", 1), InlineData("c5", 1), InlineData("c2sp", 2)]
    public void Mirroring_the_input_groups_and_kernels_mirrors_the_output(string kind, int stride)
    {
        foreach (var axis in new[] { 3, 2 })
        {
            var (direct, mirrored) = OutputAndMirroredOutput(kind, stride, axis);
            AssertClose(direct, mirrored, 1e-12, $"{kind} stride {stride} mirrored along axis {axis}");
        }
    }

    [Theory, InlineData("c2"), InlineData("c4")]
    public void Plain_even_kernels_are_not_mirror_equivariant(string kind)
    {
        var (direct, mirrored) = OutputAndMirroredOutput(kind, 1, 3);
        var largest = Flat(direct).Zip(Flat(mirrored), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(largest > 0.1, $"{kind}: the 'same' padding should break mirror symmetry (largest difference {largest})");
    }

    /// <summary>flip(conv(x, w)) and conv(P·flip(x), P·flip(w)), P the mirrored group order. Stride 2 pools: a 2×2 pool
    /// of an even-sized map commutes with the mirror.</summary>
    private static (double[,,,] Direct, double[,,,] Mirrored) OutputAndMirroredOutput(string kind, int stride, int axis)
    {
        using var conv = new ConvUnderTest(new ConvCase(kind, 8, 3, stride, StrideMode.Pool, Height: 6, Width: 8, Layout: MemoryLayout.ChannelsLast));
        using var scope = NewDisposeScope();
        var isSymmetric = conv.Case.Spec.Kind.IsSymmetric;
        using var order = tensor(isSymmetric ? MirroredChannels(axis) : [0, 1, 2, 3, 4, 5, 6, 7]);
        Tensor Mirror(double[,,,] a) => ToTensor(a).flip(axis).index_select(1, order);

        using var y = ToTensor(conv.Run(conv.X)).flip(axis);
        var direct = ToArray(y);
        conv.SetWeight(ToArray(Mirror(conv.W)));
        return (direct, conv.Run(ToArray(Mirror(conv.X))));
    }
}
