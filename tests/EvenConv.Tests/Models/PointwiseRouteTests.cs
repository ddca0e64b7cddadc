using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Ops;
using EvenConv.Ops.Routing;
using static TorchSharp.torch;

namespace EvenConv.Tests.Models;

/// <summary>
/// Every registered model computes the same outputs and gradients whichever route its 1×1 convolutions take
/// (<see cref="ConvRouting"/>): oneDNN's convolution or the GEMM. oneDNN's side runs only where a probe child has
/// run every 1×1 shape the model uses with the right values; on a host where one of them dies or computes wrong values
/// the test says so and skips.
/// </summary>
[Collection(nameof(PointwiseRouteTests))]
public sealed class PointwiseRouteTests : IDisposable
{
    private readonly PointwiseRoute? _before = ConvRouting.ForcedPointwise;

    public void Dispose() => ConvRouting.ForcedPointwise = _before;

    [SkippableTheory]
    [MemberData(nameof(ZooTests.RegisteredModels), MemberType = typeof(ZooTests))]
    public void Both_1x1_routes_give_the_same_outputs_and_gradients(string name)
    {
        var info = ModelRegistry.Get(name);
        var options = ZooTests.TinyOptions(info.DefaultInputSize, info.DefaultConv);
        manual_seed(3);
        using var model = ModelRegistry.Create(name, options);
        using var x = randn(2, options.InChannels, options.InputHeight, options.InputWidth);

        var cases = new HashSet<ProbeCase>();
        var (gemmOut, gemmGrads) = Run(model, x, PointwiseRoute.Gemm, cases);
        Skip.If(cases.Count == 0, $"{name} has no 1×1 convolution");
        var unhealthy = PrimitiveProbe.Run(cases.ToList(), get_num_threads()).Where(r => !r.Healthy).ToList();
        Skip.If(unhealthy.Count > 0, $"oneDNN's 1×1 convolution fails on this host ({string.Join(", ", unhealthy.Select(f => $"{f.Case}: {f.Verdict}"))}), so only the GEMM route runs here");
        var (oneDnnOut, oneDnnGrads) = Run(model, x, PointwiseRoute.OneDnn, null);

        AssertClose(gemmOut, oneDnnOut, 1e-4, $"{name}: output");
        // All gradients as one vector: a single unit whose pre-activation sits at a ReLU6 kink can flip with rounding and
        // change the gradient of its one channel's BN bias by half (the tiny inputs leave 4 values per channel at the
        // end), while a wrong route would change every 1×1 layer's weight gradient.
        using var gemmAll = cat(gemmGrads.Values.Select(g => g.flatten()).ToList());
        using var oneDnnAll = cat(gemmGrads.Keys.Select(k => oneDnnGrads[k].flatten()).ToList());
        var worst = string.Join("; ", gemmGrads.Keys.OrderByDescending(k => (gemmGrads[k] - oneDnnGrads[k]).norm().item<float>()).Take(4).Select(k => $"{k} {(gemmGrads[k] - oneDnnGrads[k]).norm().item<float>():G3}/{gemmGrads[k].norm().item<float>():G3}"));
        AssertClose(gemmAll, oneDnnAll, 1e-3, $"{name}: parameter gradients [{worst}]");
    }

    /// <summary>‖a − b‖ ≤ tolerance · ‖a‖: float32 rounding grows with depth, so a relative norm, not elementwise.</summary>
    private static void AssertClose(Tensor a, Tensor b, double tolerance, string what)
    {
        var error = (a - b).norm().item<float>();
        var size = a.norm().item<float>();
        Assert.True(error <= tolerance * size, $"{what} differs between the routes: ‖Δ‖ = {error:G3}, ‖gemm‖ = {size:G3}");
    }

    /// <summary>Forward and backward on the given route; records the 1×1 convolutions' shapes.</summary>
    private static (Tensor Output, Dictionary<string, Tensor> Gradients) Run(nn.Module<Tensor, Tensor> model, Tensor x, PointwiseRoute route, HashSet<ProbeCase>? record)
    {
        ConvRouting.ForcedPointwise = route;
        var hooks = record is null ? [] : model.modules().OfType<ConvLayer>()
            .Where(c => c.Spec.Kind.KernelSize == 1 && c.Spec.Groups == 1)
            .Select(c => c.register_forward_pre_hook((_, input) =>
            {
                // A pooled stride averages first (ceil), then convolves at stride 1.
                var (pool, stride) = c.Spec.StrideMode == StrideMode.Pool ? (c.Spec.Stride, 1) : (1, c.Spec.Stride);
                record.Add(new ProbeCase((int)input.shape[0], (int)input.shape[1], c.Spec.OutChannels,
                    (int)((input.shape[2] + pool - 1) / pool), (int)((input.shape[3] + pool - 1) / pool), 1, stride,
                    Layout: TensorLayout.IsChannelsLast(input) ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw));
                return input;
            })).ToList();
        // Evaluation mode: batch statistics over the 1–2 pixels of the tiny inputs' last stages would amplify float
        // rounding without bound (and dropout would differ); running statistics keep the comparison well-conditioned.
        model.eval();
        model.zero_grad();
        var y = model.call(x);
        y.square().mean().backward();
        foreach (var h in hooks) h.remove();
        return (y.detach(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
    }
}
