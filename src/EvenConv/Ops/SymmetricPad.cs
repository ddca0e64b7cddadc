using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// Symmetric (four-way group) padding as a standalone differentiable op, usable before any layer (a convolution,
/// a pooling layer). Forward makes one allocation, the padded output in the input's memory layout, and one pass
/// over the input (four group copies into it). Backward is one <c>cat</c> of four views of the incoming gradient:
/// no tensor is saved for it, and no full-size zero gradient per group is made, as autograd through
/// <c>narrow</c> or <c>pad</c> of each group would.
/// </summary>
public static class SymmetricPad
{
    /// <summary>Pads <paramref name="input"/> (N, C, H, W) for an even kernel: the result is
    /// (N, C, H + d(k−1), W + d(k−1)).</summary>
    public static Tensor Apply(Tensor input, int kernelSize, int dilation = 1)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"Symmetric padding expects a 4-D (N, C, H, W) tensor, got shape [{string.Join(", ", input.shape)}].", nameof(input));
        var plan = new Plan(SymmetricPadding.GroupSizes(input.shape[1]), SymmetricPadding.GroupPadding(kernelSize, dilation));
        return SymmetricPadFunction.apply(input, plan);
    }

    /// <summary>The group split and per-group padding of one call.</summary>
    internal sealed record Plan(long[] GroupSizes, Padding2d[] Pads)
    {
        public long ExtraH => Pads[0].Top + Pads[0].Bottom;
        public long ExtraW => Pads[0].Left + Pads[0].Right;

        /// <summary>The window of group <paramref name="g"/> inside the padded tensor <paramref name="padded"/>, a view.</summary>
        public Tensor GroupWindow(Tensor padded, int g, long channelStart, long h, long w) =>
            padded.narrow(1, channelStart, GroupSizes[g]).narrow(2, Pads[g].Top, h).narrow(3, Pads[g].Left, w);
    }

    private sealed class SymmetricPadFunction : autograd.SingleTensorFunction<SymmetricPadFunction>
    {
        public override string Name => "SymmetricPad";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var plan = (Plan)vars[1];
            ctx.save_data("plan", plan);
            long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
            var padded = TensorLayout.IsChannelsLast(x)
                ? zeros([n, h + plan.ExtraH, w + plan.ExtraW, c], dtype: x.dtype, device: x.device).permute(0, 3, 1, 2)
                : zeros([n, c, h + plan.ExtraH, w + plan.ExtraW], dtype: x.dtype, device: x.device);
            long start = 0;
            for (var g = 0; g < 4; g++)
            {
                if (plan.GroupSizes[g] > 0) plan.GroupWindow(padded, g, start, h, w).copy_(x.narrow(1, start, plan.GroupSizes[g]));
                start += plan.GroupSizes[g];
            }
            return padded;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var plan = (Plan)ctx.get_data("plan");
            long h = gradOutput.shape[2] - plan.ExtraH, w = gradOutput.shape[3] - plan.ExtraW, start = 0;
            var parts = new List<Tensor>(4);
            for (var g = 0; g < 4; g++)
            {
                if (plan.GroupSizes[g] > 0) parts.Add(plan.GroupWindow(gradOutput, g, start, h, w));
                start += plan.GroupSizes[g];
            }
            return [parts.Count == 1 ? parts[0].clone() : cat(parts, 1), null!];
        }
    }
}
