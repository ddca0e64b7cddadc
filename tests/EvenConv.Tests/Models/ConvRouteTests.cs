using EvenConv.Models;
using EvenConv.Ops;
using EvenConv.Ops.Routing;
using static TorchSharp.torch;

namespace EvenConv.Tests.Models;

/// <summary>
/// Every registered model computes the same outputs and gradients whichever route its convolutions take
/// (<see cref="ConvRouting"/>): all matrix products (<see cref="GemmConv"/>), or the automatic route — oneDNN on a
/// host whose probe found it right, and on a host where it is not, oneDNN for each shape a probe child computed right
/// and the GEMM for the rest. So on a healthy host this compares oneDNN with the GEMM everywhere, and on an unhealthy
/// one it checks that the mixture is seamless, without ever running a convolution that kills the process.
/// </summary>
[Collection(nameof(ConvRouteTests))]
public sealed class ConvRouteTests : IDisposable
{
    private readonly ConvRoute? _before = ConvRouting.Forced;

    public void Dispose() => ConvRouting.Forced = _before;

    [Theory]
    [MemberData(nameof(ZooTests.RegisteredModels), MemberType = typeof(ZooTests))]
    public void Gemm_and_automatic_routes_give_the_same_outputs_and_gradients(string name)
    {
        var info = ModelRegistry.Get(name);
        var options = ZooTests.TinyOptions(info.DefaultInputSize, info.DefaultConv);
        manual_seed(3);
        using var model = ModelRegistry.Create(name, options);
        using var x = randn(2, options.InChannels, options.InputHeight, options.InputWidth);

        var (gemmOut, gemmGrads) = Run(model, x, ConvRoute.Gemm);
        var (autoOut, autoGrads) = Run(model, x, null);

        AssertClose(gemmOut, autoOut, 1e-4, $"{name}: output");
        // All gradients as one vector: a single unit whose pre-activation sits at a ReLU6 kink can flip with rounding and
        // change the gradient of its one channel's BN bias by half (the tiny inputs leave 4 values per channel at the
        // end), while a wrong route would change every convolution's weight gradient.
        using var gemmAll = cat(gemmGrads.Values.Select(g => g.flatten()).ToList());
        using var autoAll = cat(gemmGrads.Keys.Select(k => autoGrads[k].flatten()).ToList());
        var worst = string.Join("; ", gemmGrads.Keys.OrderByDescending(k => (gemmGrads[k] - autoGrads[k]).norm().item<float>()).Take(3)
            .Select(k => $"{k} {(gemmGrads[k] - autoGrads[k]).norm().item<float>():G3} of {gemmGrads[k].norm().item<float>():G3}"));
        AssertClose(gemmAll, autoAll, 1e-3, $"{name}: parameter gradients (largest differences: {worst})");
    }

    /// <summary>‖a − b‖ ≤ tolerance · ‖a‖: float32 rounding grows with depth, so a relative norm, not elementwise.</summary>
    private static void AssertClose(Tensor a, Tensor b, double tolerance, string what)
    {
        var error = (a - b).norm().item<float>();
        var size = a.norm().item<float>();
        Assert.True(error <= tolerance * size, $"{what} differs between the routes: ‖Δ‖ = {error:G3}, ‖gemm‖ = {size:G3}");
    }

    /// <summary>Forward and backward on the given route (null: automatic).</summary>
    private static (Tensor Output, Dictionary<string, Tensor> Gradients) Run(nn.Module<Tensor, Tensor> model, Tensor x, ConvRoute? route)
    {
        ConvRouting.Forced = route;
        // Evaluation mode: batch statistics over the 1–2 pixels of the tiny inputs' last stages would amplify float
        // rounding without bound (and dropout would differ); running statistics keep the comparison well-conditioned.
        model.eval();
        model.zero_grad();
        var y = model.call(x);
        y.square().mean().backward();
        return (y.detach(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
    }
}
