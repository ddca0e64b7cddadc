using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Tests.Ops;

/// <summary>The custom autograd ops free what their backward touched (incoming and returned gradients) instead of
/// leaving it to the caller's DisposeScope, and the gradients they hand to libtorch stay valid after that.</summary>
public class BackwardMemoryTests
{
    private const int Layers = 6;

    public static TheoryData<string> CustomOps => new() { "symmetric-pad-conv", "symmetric-pad", "group-shift" };

    private static Tensor Layer(string op, Tensor h, Tensor w) => op switch
    {
        "symmetric-pad-conv" => SymmetricPadConv.Apply(h, w),
        "symmetric-pad" => F.conv2d(SymmetricPad.Apply(h, 2), w),
        "group-shift" => F.conv2d(GroupShift.Apply(h), w.narrow(2, 0, 1).narrow(3, 0, 1)),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    [Theory]
    [MemberData(nameof(CustomOps))]
    public void After_backward_the_graph_holds_no_activation_or_gradient(string op)
    {
        if (EvenConv.Runtime.HeapBytesInUse() is null) return;   // no allocator statistics on this platform
        manual_seed(4);
        var x = TensorLayout.To(randn(16, 16, 32, 32), MemoryLayout.ChannelsLast);
        var weights = Enumerable.Range(0, Layers)
            .Select(_ => TensorLayout.To(randn(16, 16, 2, 2) * 0.2, MemoryLayout.ChannelsLast).requires_grad_()).ToArray();
        long mapBytes = x.numel() * 4;
        HeldAfterBackward(op, x, weights);                    // warm-up: lazily built kernels and caches
        var held = HeldAfterBackward(op, x, weights);
        // Each layer would keep, if leaked, its saved input and its incoming and returned gradients: up to 3 maps per
        // layer. Allowed: the last gradient handed to libtorch, which the next call of a custom op frees (1 map).
        Assert.True(held < 1.5 * mapBytes, $"{op}: after backward {held / (double)mapBytes:F1} feature maps are still alive");
    }

    /// <summary>Heap in use after a backward, while the loss and so the whole graph are still alive, minus before the
    /// forward. The forward's own handles are disposed as a model's are, so the graph alone decides what stays:
    /// libtorch's nodes free their saved tensors after a backward that does not keep the graph, and so must ours.</summary>
    private static long HeldAfterBackward(string op, Tensor x, Tensor[] weights)
    {
        foreach (var w in weights) w.grad?.Dispose();
        foreach (var w in weights) w.grad = null;
        using var scope = NewDisposeScope();
        var before = EvenConv.Runtime.HeapBytesInUse()!.Value;
        Tensor loss;
        using (NewDisposeScope())
        {
            var h = x;
            foreach (var w in weights) h = F.relu(Layer(op, h, w));
            loss = h.square().mean().MoveToOuterDisposeScope();
        }
        loss.backward();
        return EvenConv.Runtime.HeapBytesInUse()!.Value - before - weights.Sum(w => w.grad!.numel() * 4);
    }

    [Theory]
    [MemberData(nameof(CustomOps))]
    public void Gradients_handed_to_libtorch_stay_valid_after_the_next_call_releases_them(string op)
    {
        manual_seed(8);
        var x = randn(2, 8, 6, 6, dtype: float64).requires_grad_();
        var w = randn(8, 8, 2, 2, dtype: float64).requires_grad_();
        Layer(op, x, w).square().sum().backward();
        var xGrad = x.grad!.clone();
        var wGrad = w.grad!.clone();
        using (no_grad()) Layer(op, randn(1, 8, 6, 6, dtype: float64), w);      // releases the previous backward's results
        Layer(op, randn(1, 8, 6, 6, dtype: float64).requires_grad_(), w).sum().backward();
        Assert.True(x.grad!.allclose(xGrad, rtol: 0, atol: 0), "the input gradient changed after its handle was released");
        Assert.False(w.grad!.allclose(wGrad, rtol: 0, atol: 0), "the second backward should have accumulated into the weight gradient");
    }

    [Fact]
    public void A_retained_graph_keeps_its_saved_tensors_for_the_next_backward()
    {
        manual_seed(12);
        var x = randn(2, 6, 5, 5, dtype: float64).requires_grad_();
        var w = randn(4, 6, 2, 2, dtype: float64).requires_grad_();
        var loss = SymmetricPadConv.Apply(x, w).sum();      // sum saves nothing: the conv's saved tensors are tested
        var first = autograd.grad([loss], [x], retain_graph: true)[0];
        var second = autograd.grad([loss], [x], retain_graph: true)[0];
        var last = autograd.grad([loss], [x])[0];
        Assert.True(second.allclose(first, rtol: 0, atol: 0) && last.allclose(first, rtol: 0, atol: 0),
            "a retained graph must give the same gradient again");
    }
}
