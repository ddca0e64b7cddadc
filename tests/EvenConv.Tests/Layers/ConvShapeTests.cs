using EvenConv.Layers;
using static TorchSharp.torch;

namespace EvenConv.Tests.Layers;

public class ConvShapeTests
{
    [Theory]
    [InlineData("c1"), InlineData("c2"), InlineData("c2sp"), InlineData("c3"), InlineData("c4"), InlineData("c4sp"), InlineData("c5"), InlineData("c6sp"), InlineData("c7")]
    public void Stride_one_keeps_the_spatial_size_for_every_kind(string kind)
    {
        using var conv = Conv.Create(kind, 5, 7);
        using var y = conv.call(randn(2, 5, 9, 6));
        Assert.Equal([2L, 7, 9, 6], y.shape);
    }
}
