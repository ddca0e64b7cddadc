using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Tests.Ops;

/// <summary>The fused symmetric pad + convolution op: gradients by finite differences, agreement with the composed
/// ops, every memory path (dense NCHW, dense channels_last, strided fallback), and that it keeps no padded copy.</summary>
public class SymmetricPadConvTests
{
    public static TheoryData<int, int, int, int, int, int, bool, bool> Configs => new()
    {
        // channels, out, kernel, stride, dilation, groups, bias, channels_last
        { 8, 3, 2, 1, 1, 1, false, false },
        { 7, 4, 2, 1, 1, 1, true, true },
        { 5, 3, 2, 2, 1, 1, false, true },
        { 6, 4, 4, 1, 1, 2, true, false },
        { 9, 2, 4, 2, 1, 1, false, true },
        { 4, 4, 2, 1, 2, 4, false, true },
        { 3, 2, 2, 1, 1, 1, true, false },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Gradients_match_central_finite_differences(int c, int o, int k, int stride, int dilation, int groups, bool bias, bool channelsLast)
    {
        manual_seed(11);
        var layout = channelsLast ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw;
        var x = TensorLayout.To(randn(2, c, 5, 6, dtype: float64), layout).requires_grad_();
        var w = TensorLayout.To(randn(o, c / groups, k, k, dtype: float64), layout).requires_grad_();
        var b = bias ? randn(o, dtype: float64).requires_grad_() : null;
        Tensor Run() => SymmetricPadConv.Apply(x, w, b, stride, dilation, groups);
        var upstream = randn_like(Run());
        var inputs = b is null ? new[] { x, w } : new[] { x, w, b };
        var analytic = autograd.grad([Run()], inputs, [upstream]);
        for (var i = 0; i < inputs.Length; i++)
        {
            var numeric = FiniteDifferences.Gradient(() => (Run() * upstream).sum().item<double>(), inputs[i]);
            Assert.True(analytic[i].allclose(numeric, rtol: 1e-6, atol: 1e-7), $"gradient {i} differs from finite differences by {(analytic[i] - numeric).abs().max().item<double>():E2}");
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Equals_symmetric_pad_then_conv2d_in_value_and_gradients(int c, int o, int k, int stride, int dilation, int groups, bool bias, bool channelsLast)
    {
        manual_seed(5);
        var layout = channelsLast ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw;
        var x = TensorLayout.To(randn(3, c, 7, 6, dtype: float64), layout);
        var w = TensorLayout.To(randn(o, c / groups, k, k, dtype: float64), layout);
        var b = bias ? randn(o, dtype: float64) : null;
        var (yFused, gFused) = ValueAndGrads(x, w, b, (xi, wi, bi) => SymmetricPadConv.Apply(xi, wi, bi, stride, dilation, groups));
        var (yRef, gRef) = ValueAndGrads(x, w, b, (xi, wi, bi) =>
            F.conv2d(SymmetricPad.Apply(xi, k, dilation), wi, bi, strides: [stride, stride], dilation: [dilation, dilation], groups: groups));
        Assert.True(yFused.allclose(yRef, rtol: 1e-12, atol: 1e-12));
        for (var i = 0; i < gRef.Length; i++) Assert.True(gFused[i].allclose(gRef[i], rtol: 1e-12, atol: 1e-12), $"gradient {i}");
    }

    [Theory]
    [InlineData(true, false), InlineData(false, true)]
    public void A_frozen_weight_or_a_constant_input_gets_only_the_gradient_asked_for(bool inputGrad, bool weightGrad)
    {
        manual_seed(6);
        var x = TensorLayout.To(randn(2, 6, 5, 5, dtype: float64), MemoryLayout.ChannelsLast).requires_grad_(inputGrad);
        var w = TensorLayout.To(randn(3, 6, 2, 2, dtype: float64), MemoryLayout.ChannelsLast).requires_grad_(weightGrad);
        var y = SymmetricPadConv.Apply(x, w);
        var upstream = randn_like(y);
        var wanted = inputGrad ? x : w;
        var grad = autograd.grad([y], [wanted], [upstream])[0];
        var reference = autograd.grad([F.conv2d(SymmetricPad.Apply(x, 2), w)], [wanted], [upstream])[0];
        Assert.True(grad.allclose(reference, rtol: 1e-12, atol: 1e-12));
    }

    [Fact]
    public void A_strided_input_takes_the_libtorch_path_and_gives_the_same_result()
    {
        manual_seed(3);
        var wide = randn(2, 12, 6, 9, dtype: float64);
        var strided = wide.narrow(3, 2, 5);                 // not dense: the fast kernels decline it
        var dense = strided.contiguous();
        var w = randn(4, 12, 2, 2, dtype: float64);
        var (ys, gs) = ValueAndGrads(strided, w, null, (xi, wi, _) => SymmetricPadConv.Apply(xi, wi));
        var (yd, gd) = ValueAndGrads(dense, w, null, (xi, wi, _) => SymmetricPadConv.Apply(xi, wi));
        Assert.True(ys.allclose(yd, rtol: 1e-12, atol: 1e-12));
        Assert.True(gs[0].allclose(gd[0], rtol: 1e-12, atol: 1e-12));
        Assert.True(gs[1].allclose(gd[1], rtol: 1e-12, atol: 1e-12));
    }

    [Fact]
    public void Keeps_no_padded_copy_for_backward()
    {
        if (EvenConv.Runtime.HeapBytesInUse() is null) return;   // no allocator statistics on this platform
        manual_seed(2);
        var x = TensorLayout.To(randn(16, 16, 32, 32), MemoryLayout.ChannelsLast).requires_grad_();
        var w = TensorLayout.To(randn(16, 16, 2, 2), MemoryLayout.ChannelsLast).requires_grad_();
        long paddedBytes = 16L * 16 * 33 * 33 * 4;
        Assert.True(HeldByGraph(() => SymmetricPadConv.Apply(x, w)) < paddedBytes / 20, "the fused op keeps memory for backward");
        Assert.True(HeldByGraph(() => F.conv2d(SymmetricPad.Apply(x, 2), w)) >= paddedBytes, "pad-then-conv should keep the padded copy: the measurement is broken");
    }

    /// <summary>Heap bytes that survive a forward pass with autograd beyond those that survive it under no_grad
    /// (the output alone): what the graph holds. One call first, so lazily built caches are not counted.</summary>
    private static long HeldByGraph(Func<Tensor> forward)
    {
        long Survivors(bool grad)
        {
            using var mode = grad ? enable_grad() : no_grad();
            var before = EvenConv.Runtime.HeapBytesInUse()!.Value;
            Tensor y;
            using (NewDisposeScope()) y = forward().DetachFromDisposeScope();
            var held = EvenConv.Runtime.HeapBytesInUse()!.Value - before;
            y.Dispose();
            return held;
        }
        Survivors(true);
        Survivors(false);
        return Survivors(true) - Survivors(false);
    }

    private static (Tensor Value, Tensor[] Grads) ValueAndGrads(Tensor x, Tensor w, Tensor? b, Func<Tensor, Tensor, Tensor?, Tensor> f)
    {
        var xi = x.detach().requires_grad_();
        var wi = w.detach().requires_grad_();
        var bi = b?.detach().requires_grad_();
        var y = f(xi, wi, bi);
        manual_seed(9);
        var upstream = randn_like(y);
        var inputs = bi is null ? new[] { xi, wi } : new[] { xi, wi, bi };
        return (y.detach(), autograd.grad([y], inputs, [upstream]).ToArray());
    }
}
