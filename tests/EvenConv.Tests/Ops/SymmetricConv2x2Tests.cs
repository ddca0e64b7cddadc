using EvenConv.Layers;
using EvenConv.Ops;
using EvenConv.Ops.Kernels;
using EvenConv.Tests.Layers;
using EvenConv.Tests.Reference;
using static EvenConv.Tests.Reference.TestTensors;
using static TorchSharp.torch;

namespace EvenConv.Tests.Ops;

/// <summary>
/// The fused C2sp kernels (float32, channels_last): value and gradients against the float64 loop reference at strides
/// 1 and 2, with the rows split over several threads at boundaries inside an image, and the cases they must leave to
/// the plain route. They run at the vector width this CPU has; where it has AVX-512, ./test runs them once more with
/// AVX-512 switched off, on the AVX2 code.
/// </summary>
[Collection(TinyTensors.Name)]
public class SymmetricConv2x2Tests
{
    public static TheoryData<int, int, int, int, int, int, bool> Shapes => new()
    {
        // in, out, stride, batch, height, width, bias
        { 16, 16, 1, 2, 7, 9, true },
        { 32, 16, 1, 3, 5, 5, false },
        { 48, 32, 1, 1, 3, 4, true },
        { 16, 48, 1, 2, 1, 1, false },
        { 64, 16, 1, 2, 2, 17, false },   // a row wider than one register tile
        { 16, 32, 1, 1, 20, 3, true },    // more rows than one weight-gradient band
        { 16, 32, 2, 2, 8, 6, false },    // even sizes: the last padded row and column lie in no window
        { 32, 64, 2, 3, 7, 5, true },     // odd sizes
        { 64, 16, 2, 1, 2, 31, false },
        { 16, 16, 2, 1, 40, 2, false },
    };

    [SkippableTheory, MemberData(nameof(Shapes))]
    public void Value_and_gradients_match_the_float64_loop_reference(int cin, int cout, int stride, int batch, int height, int width, bool bias)
    {
        SkipWithoutKernels();
        foreach (var threads in new[] { 1, 3 })
        {
            var c = new ConvCase("c2sp", cin, cout, stride, Bias: bias, Batch: batch, Height: height, Width: width, Layout: MemoryLayout.ChannelsLast);
            using var layer = new ConvUnderTest(c, ScalarType.Float32);
            using var x = ToTensor(layer.X, ScalarType.Float32, MemoryLayout.ChannelsLast);
            Assert.True(SymmetricConv2x2.Supports(x, layer.Layer.Weight, stride, 1, 1), $"the fused kernels should take {c}");
            var gy = Random(new Random(3), batch, cout, (int)c.Spec.OutputSize(height), (int)c.Spec.OutputSize(width));
            var (rx, rw, rb) = layer.Reference.Backward(layer.X, layer.W, gy);
            var previous = get_num_threads();
            set_num_threads(threads);
            try
            {
                AssertClose(layer.Reference.Forward(layer.X, layer.W, layer.B), layer.Run(layer.X), 1e-5, $"output, {c}, {threads} threads");
                var (gx, gw, gb) = layer.Gradients(gy);
                AssertClose(rx, gx!, 1e-5, $"input gradient, {c}, {threads} threads");
                AssertClose(rw, gw, 1e-5, $"weight gradient, {c}, {threads} threads");
                if (bias) AssertClose(rb, gb!, 1e-5, $"bias gradient, {c}, {threads} threads");
                AssertClose(rw, layer.Gradients(gy, inputRequiresGrad: false).W, 1e-5, $"weight gradient alone, {c}, {threads} threads");
            }
            finally { set_num_threads(previous); }
        }
    }

    [SkippableFact]
    public void Is_as_accurate_as_the_plain_route_on_a_cifar_shape_and_repeats_bit_for_bit()
    {
        SkipWithoutKernels();
        manual_seed(4);
        var x = TensorLayout.To(randn(8, 16, 32, 32), MemoryLayout.ChannelsLast);
        var w = TensorLayout.To(randn(32, 16, 2, 2), MemoryLayout.ChannelsLast);
        var upstream = TensorLayout.To(randn(8, 32, 32, 32), MemoryLayout.ChannelsLast);
        var exact = Run(x.to_type(ScalarType.Float64), w.to_type(ScalarType.Float64), upstream.to_type(ScalarType.Float64), fused: false);
        var fused = Run(x, w, upstream, fused: true);
        var plain = Run(x, w, upstream, fused: false);
        for (var i = 0; i < 3; i++)
        {
            // float32 sums of up to 8192 products, measured against float64: no worse than oneDNN's own rounding.
            double Error(Tensor t) => ((t.to_type(ScalarType.Float64) - exact[i]).abs().max() / exact[i].abs().max()).item<double>();
            Assert.True(Error(fused[i]) <= 2 * Error(plain[i]) + 1e-7,
                $"result {i}: relative error {Error(fused[i]):E2}, the plain route's {Error(plain[i]):E2}");
        }
        var again = Run(x, w, upstream, fused: true);
        for (var i = 0; i < 3; i++) Assert.True(fused[i].eq(again[i]).all().item<bool>(), $"result {i} changed between two identical calls");
    }

    [SkippableFact]
    public void Takes_an_upstream_gradient_expanded_over_the_batch()
    {
        SkipWithoutKernels();
        manual_seed(8);
        var x = TensorLayout.To(randn(3, 16, 6, 5), MemoryLayout.ChannelsLast);
        var w = TensorLayout.To(randn(16, 16, 2, 2), MemoryLayout.ChannelsLast);
        // One channels_last map seen three times: batch stride 0, every other stride dense NHWC.
        var upstream = TensorLayout.To(randn(1, 16, 6, 5), MemoryLayout.ChannelsLast).expand(3, 16, 6, 5);
        var fused = Run(x, w, upstream, fused: true);
        var plain = Run(x, w, upstream.contiguous(), fused: false);
        for (var i = 1; i < 3; i++) Assert.True(fused[i].allclose(plain[i], rtol: 1e-5, atol: 1e-5), $"gradient {i}");
    }

    [SkippableFact]
    public void Declines_what_it_does_not_compute()
    {
        SkipWithoutKernels();
        var cl = TensorLayout.To(randn(2, 16, 6, 6), MemoryLayout.ChannelsLast);
        var w = randn(16, 16, 2, 2);
        Assert.True(SymmetricConv2x2.Supports(cl, w, 1, 1, 1));
        Assert.True(SymmetricConv2x2.Supports(cl, w, 2, 1, 1));
        Assert.False(SymmetricConv2x2.Supports(cl, w, 3, 1, 1), "stride 3");
        Assert.False(SymmetricConv2x2.Supports(cl, w, 1, 2, 1), "dilation 2");
        Assert.False(SymmetricConv2x2.Supports(cl, randn(16, 4, 2, 2), 1, 1, 4), "groups");
        Assert.False(SymmetricConv2x2.Supports(randn(2, 16, 6, 6), w, 1, 1, 1), "NCHW input");
        Assert.False(SymmetricConv2x2.Supports(cl.to_type(ScalarType.Float64), w.to_type(ScalarType.Float64), 1, 1, 1), "float64");
        Assert.False(SymmetricConv2x2.Supports(TensorLayout.To(randn(2, 8, 6, 6), MemoryLayout.ChannelsLast), randn(16, 8, 2, 2), 1, 1, 1), "8 input channels");
        Assert.False(SymmetricConv2x2.Supports(cl, randn(13, 16, 2, 2), 1, 1, 1), "13 output channels");
        Assert.False(SymmetricConv2x2.Supports(cl, randn(128, 16, 2, 2), 1, 1, 1), "128 output channels (oneDNN is faster)");
        Assert.False(SymmetricConv2x2.Supports(cl, randn(16, 16, 4, 4), 1, 1, 1), "a 4×4 kernel");
    }

    private static Tensor[] Run(Tensor x, Tensor w, Tensor upstream, bool fused)
    {
        using var route = fused ? null : SymmetricConv2x2.UsePlainRoute();
        var xi = x.detach().requires_grad_();
        var wi = w.detach().requires_grad_();
        var y = SymmetricPadConv.Apply(xi, wi);
        var grads = autograd.grad([y], [xi, wi], [upstream]);
        return [y.detach(), grads[0], grads[1]];
    }

    /// <summary>The kernels need AVX-512 or AVX2 with FMA; elsewhere the plain route runs and the other tests cover it.</summary>
    private static void SkipWithoutKernels() =>
        Skip.IfNot(SymmetricConv2x2.HardwareSupported, "the fused C2sp kernels need AVX-512 or AVX2 with FMA; this CPU takes the plain route");
}
