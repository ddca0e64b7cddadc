using EvenConv.Ops.Routing;
using static TorchSharp.torch;

namespace EvenConv.Tests.Ops.Routing;

/// <summary>NNPACK is switched off by the first routed convolution exactly where it cannot initialise (where each of
/// libtorch's checks would log a warning), and left on where it works.</summary>
public class NnpackTests
{
    [Fact]
    public void The_first_convolution_turns_NNPACK_off_exactly_where_it_cannot_initialise()
    {
        using (var x = randn(1, 2, 5, 5, dtype: ScalarType.Float64))
        using (var w = randn(3, 2, 3, 3, dtype: ScalarType.Float64))
            ConvRouting.Conv2d(x, w, null, padding: 1).Dispose();
        Assert.NotNull(Nnpack.Available);
        Assert.NotNull(Nnpack.Enabled);
        Assert.Equal(Nnpack.Available, Nnpack.Enabled);
    }
}
