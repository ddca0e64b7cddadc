using EvenConv.Layers;
using static TorchSharp.torch;

namespace EvenConv.Tests.Layers;

public class ConvInitTests
{
    [Fact]
    public void He_normal_gives_distinct_filters_with_the_truncated_he_variance()
    {
        manual_seed(11);
        using var w = empty(256, 64, 3, 3);
        ConvInit.HeNormalFanIn(w);
        // Distinct filters (TorchSharp 0.107's trunc_normal_ filled the tensor with one constant).
        Assert.True(w.std().item<float>() > 0);
        Assert.False(w[0].allclose(w[1]));
        var std = Math.Sqrt(2.0 / (64 * 9));
        Assert.Equal(2.0 / (64 * 9), w.to(float64).var().item<double>(), 0.02 * 2.0 / (64 * 9));   // 147,456 draws: sampling error ≈ 0.4 %
        Assert.True(w.abs().max().item<float>() <= 2 * std / 0.87962566103423978 + 1e-6);
        Assert.Equal(0.0, w.to(float64).mean().item<double>(), 3);
    }
}
