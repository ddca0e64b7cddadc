using EvenConv.Ops;
using EvenConv.Ops.Routing;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Tests.Ops.Routing;

/// <summary>The automatic route computes a 1×1 convolution right on a map whose strides come from average pooling —
/// a case oneDNN got 50 % wrong at two threads on a host where its 1×1 path is broken, although the same shape passed
/// in the probe child (fresh strides).</summary>
public class PointwiseRouteTests
{
    [Fact]
    public void A_pointwise_convolution_of_a_pooled_1x1_map_matches_float64()
    {
        var saved = ConvRouting.Forced;
        var threads = get_num_threads();
        ConvRouting.Forced = null;
        set_num_threads(2);
        try
        {
            using var scope = NewDisposeScope();
            var x = F.avg_pool2d(TensorLayout.To(randn(2, 32, 2, 2, generator: new Generator(3)), MemoryLayout.ChannelsLast),
                [2, 2], [2, 2], ceil_mode: true, count_include_pad: false);
            var w = TensorLayout.To(randn(40, 32, 1, 1, generator: new Generator(4)), MemoryLayout.ChannelsLast);
            var y = ConvRouting.Conv2d(x, w, null);
            var reference = F.conv2d(x.to(ScalarType.Float64).contiguous(), w.to(ScalarType.Float64).contiguous());
            Assert.True((y.to(ScalarType.Float64) - reference).abs().max().item<double>() < 1e-4);
        }
        finally
        {
            ConvRouting.Forced = saved;
            set_num_threads(threads);
        }
    }
}
