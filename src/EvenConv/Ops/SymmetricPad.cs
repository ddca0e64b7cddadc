using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// Symmetric (four-way group) padding as a standalone differentiable op, usable before any layer (a convolution,
/// a pooling layer). Forward makes one allocation, the padded output in the input's memory layout, and one pass
/// over the input that also writes the zero border. Backward is one gather from the incoming gradient: no tensor is
/// saved for it, and no full-size zero gradient per group is made, as autograd through <c>narrow</c> or <c>pad</c>
/// of each group would. Before a convolution prefer <see cref="SymmetricPadConv"/>, which does not keep the padded
/// copy alive until backward.
/// </summary>
public static class SymmetricPad
{
    /// <summary>Pads <paramref name="input"/> (N, C, H, W) for an even kernel: the result is
    /// (N, C, H + d(k−1), W + d(k−1)).</summary>
    public static Tensor Apply(Tensor input, int kernelSize, int dilation = 1)
    {
        BackwardTensors.ReleaseHandedOver();
        var plan = Plan.For(input, kernelSize, dilation);
        if (!is_grad_enabled() || !input.requires_grad) return plan.Pad(input);
        var padded = SymmetricPadFunction.apply(input, plan);
        AutogradOutputCache.ReleasePending();
        return padded;
    }

    /// <summary>The group split and per-group padding of one call, and the two data movements it needs.</summary>
    internal sealed record Plan(long[] GroupSizes, Padding2d[] Pads)
    {
        public static Plan For(Tensor input, int kernelSize, int dilation)
        {
            if (input.dim() != 4)
                throw new ArgumentException($"Symmetric padding expects a 4-D (N, C, H, W) tensor, got shape [{string.Join(", ", input.shape)}].", nameof(input));
            return new Plan(SymmetricPadding.GroupSizes(input.shape[1]), SymmetricPadding.GroupPadding(kernelSize, dilation));
        }

        public long ExtraH => Pads[0].Top + Pads[0].Bottom;
        public long ExtraW => Pads[0].Left + Pads[0].Right;

        /// <summary>The padded copy of <paramref name="x"/> (no autograd), in x's memory layout.</summary>
        public Tensor Pad(Tensor x)
        {
            if (SymmetricPadKernel.Pad(x, GroupSizes, Pads) is { } fast) return fast;
            long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
            using var _ = no_grad();
            using var views = NewDisposeScope();   // the group views would otherwise pin both buffers in the caller's scope
            var layout = TensorLayout.IsChannelsLast(x) ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw;
            var padded = TensorLayout.Empty(n, c, h + ExtraH, w + ExtraW, x.dtype, layout, x.device).zero_();
            ForEachGroup(c, (g, start) => GroupWindow(padded, g, start, h, w).copy_(x.narrow(1, start, GroupSizes[g])));
            return padded.MoveToOuterDisposeScope();
        }

        /// <summary>The gradient of the unpadded input from the gradient <paramref name="gradPadded"/> of the padded tensor.</summary>
        public Tensor Unpad(Tensor gradPadded)
        {
            if (SymmetricPadKernel.Unpad(gradPadded, GroupSizes, Pads) is { } fast) return fast;
            long h = gradPadded.shape[2] - ExtraH, w = gradPadded.shape[3] - ExtraW;
            using var views = NewDisposeScope();
            var parts = new List<Tensor>(4);
            ForEachGroup(gradPadded.shape[1], (g, start) => parts.Add(GroupWindow(gradPadded, g, start, h, w)));
            return (parts.Count == 1 ? parts[0].clone() : cat(parts, 1)).MoveToOuterDisposeScope();
        }

        /// <summary>The window of group <paramref name="g"/> inside the padded tensor <paramref name="padded"/>, a view.</summary>
        private Tensor GroupWindow(Tensor padded, int g, long channelStart, long h, long w) =>
            padded.narrow(1, channelStart, GroupSizes[g]).narrow(2, Pads[g].Top, h).narrow(3, Pads[g].Left, w);

        private void ForEachGroup(long channels, Action<int, long> action)
        {
            long start = 0;
            for (var g = 0; g < 4 && start < channels; g++)
            {
                if (GroupSizes[g] > 0) action(g, start);
                start += GroupSizes[g];
            }
        }
    }

    private sealed class SymmetricPadFunction : autograd.SingleTensorFunction<SymmetricPadFunction>
    {
        public override string Name => "SymmetricPad";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var plan = (Plan)vars[1];
            ctx.save_data("plan", plan);
            AutogradOutputCache.DropAfterApply(ctx);
            return plan.Pad((Tensor)vars[0]);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            BackwardTensors.ReleaseHandedOver();
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!];
            using var upstream = gradOutput;
            return BackwardTensors.HandOver(((Plan)ctx.get_data("plan")).Unpad(upstream), null);
        }
    }
}
