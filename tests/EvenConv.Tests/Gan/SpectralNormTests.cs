using EvenConv.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Tests.Gan;

public class SpectralNormTests
{
    private static double LargestSingularValue(Tensor weight) =>
        linalg.svdvals(weight.detach().to(float64).reshape(weight.shape[0], -1)).max().item<double>();

    [Theory]
    [InlineData("c2sp"), InlineData("c3"), InlineData("c4")]
    public void Power_iteration_finds_the_largest_singular_value_of_a_convolution(string kind)
    {
        manual_seed(1);
        using var sn = SpectralNorm.Wrap(Conv.Create(kind, 6, 5));
        var conv = (ConvLayer)sn.Inner;
        sn.train();
        using var x = randn(2, 6, 5, 5);
        for (var i = 0; i < 100; i++) { using var _ = no_grad(); sn.call(x).Dispose(); }
        // Power iteration converges as (σ₂/σ₁)^(2k); random kernels have close top singular values, hence 1e-3.
        var exact = LargestSingularValue(conv.Weight);
        Assert.InRange(sn.Sigma() / exact, 0.999, 1.0 + 1e-6);
        using var normalised = conv.Weight.detach() / sn.Sigma();
        Assert.InRange(LargestSingularValue(normalised), 1.0 - 1e-6, 1.001);
    }

    [Fact]
    public void Output_is_the_layer_with_its_weight_divided_by_sigma_bias_unscaled()
    {
        manual_seed(2);
        using var sn = SpectralNorm.Wrap(Conv.Create("c3", 4, 3, bias: true, init: ConvInit.PyTorchDefault));
        var conv = (ConvLayer)sn.Inner;
        using (no_grad()) conv.Bias!.copy_(tensor(new float[] { 0.5f, -1f, 2f }));
        sn.eval();
        using var x = randn(2, 4, 6, 6);
        using var y = sn.call(x);
        var sigma = sn.Sigma();
        using var expected = F.conv2d(x, conv.Weight.detach() / sigma, conv.Bias, padding: [1, 1]);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Linear_layers_are_normalised_too_and_gradients_reach_the_weight()
    {
        manual_seed(3);
        using var linear = nn.Linear(7, 4);
        using var sn = SpectralNorm.Wrap(linear);
        for (var i = 0; i < 100; i++) { using var _ = no_grad(); sn.call(randn(3, 7)).Dispose(); }
        Assert.InRange(sn.Sigma() / LargestSingularValue(linear.weight!), 0.999, 1.0 + 1e-6);
        sn.eval();
        using var x = randn(3, 7, dtype: float32);
        sn.call(x).sum().backward();
        Assert.NotNull(linear.weight!.grad);
        Assert.True(linear.weight.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void The_singular_vector_is_saved_with_the_module_so_sigma_survives_a_reload()
    {
        manual_seed(4);
        using var sn = SpectralNorm.Wrap(Conv.Create("c2sp", 3, 4));
        Assert.Contains(sn.named_buffers(), b => b.name == "weight_u");
        for (var i = 0; i < 5; i++) { using var _ = no_grad(); sn.call(randn(1, 3, 4, 4)).Dispose(); }
        using var copy = SpectralNorm.Wrap(Conv.Create("c2sp", 3, 4));
        copy.load_state_dict(sn.state_dict());
        Assert.Equal(sn.Sigma(), copy.Sigma(), 12);
    }
}
