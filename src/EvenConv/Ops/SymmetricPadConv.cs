using EvenConv.Ops.Kernels;
using EvenConv.Ops.Routing;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Ops;

/// <summary>
/// Symmetric padding followed by a valid even-kernel convolution, as one differentiable op that keeps only what the
/// plain convolution keeps for backward: its input and weight. Two routes compute it:
/// <list type="bullet">
/// <item>the fused kernels (<see cref="SymmetricConv2x2"/>: C2sp, float32 channels_last on AVX-512 or AVX2, 16–64 channels,
/// stride 1 or 2) never make a padded tensor: they pad one row at a time into a cache-resident buffer;</item>
/// <item>everywhere else the padded copy is made, convolved and freed in forward, and remade in backward (one pass
/// over the input), instead of living from forward to backward as it does when <see cref="SymmetricPad.Apply"/> feeds
/// an ordinary conv2d; backward is libtorch's own convolution backward on the remade copy, then one gather of the
/// input gradient.</item>
/// </list>
/// Equal to <c>conv2d(SymmetricPad.Apply(x, k, d), w, b, stride, 0, d, groups)</c> in value and gradients.
/// Like libtorch's own ops it frees its saved tensors after a backward that does not retain the graph
/// (<see cref="BackwardTensors"/>); a second backward through such a graph stops the process with libtorch's
/// "backward through the graph a second time" message, since TorchSharp cannot pass an exception out of a custom
/// backward: pass <c>retain_graph: true</c> where a graph is differentiated twice.
/// </summary>
public static class SymmetricPadConv
{
    /// <summary>Computes the convolution. <paramref name="weight"/> is (C_out, C_in/groups, k, k) with k even.</summary>
    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int dilation = 1, int groups = 1)
    {
        BackwardTensors.ReleaseHandedOver();
        var plan = SymmetricPad.Plan.For(input, (int)weight.shape[2], dilation);
        var args = new Args(plan, stride, dilation, groups);
        var needsGraph = is_grad_enabled() && (input.requires_grad || weight.requires_grad || bias is { requires_grad: true });
        if (!needsGraph) return Forward(input, weight, bias, args);
        var output = bias is null ? Function.apply(input, weight, args) : Function.apply(input, weight, args, bias);
        AutogradOutputCache.ReleasePending();
        return output;
    }

    private sealed record Args(SymmetricPad.Plan Plan, int Stride, int Dilation, int Groups);

    private static Tensor Forward(Tensor input, Tensor weight, Tensor? bias, Args a)
    {
        if (SymmetricConv2x2.Supports(input, weight, a.Stride, a.Dilation, a.Groups))
            return SymmetricConv2x2.Forward(input, weight, bias, a.Plan, a.Stride);
        using var padded = a.Plan.Pad(input);
        return ConvRouting.Conv2d(padded, weight, bias, a.Stride, 0, a.Dilation, a.Groups);
    }

    /// <summary>The plain route: remake the padded input, run libtorch's convolution backward on it, and gather the
    /// input gradient out of the padded one.</summary>
    private static (Tensor? Input, Tensor? Weight) PadThenBackward(Tensor upstream, Tensor input, Tensor weight, Args a, bool needInput, bool needWeight)
    {
        Tensor? gradPadded, gradWeight;
        using (var padded = a.Plan.Pad(input))
            (gradPadded, gradWeight) = ConvolutionBackward.Compute(upstream, padded, weight, a.Stride, a.Dilation, a.Groups, needInput, needWeight);
        if (gradPadded is null) return (null, gradWeight);
        using (gradPadded) return (a.Plan.Unpad(gradPadded), gradWeight);
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "SymmetricPadConv";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            Tensor input = (Tensor)vars[0], weight = (Tensor)vars[1];
            var a = (Args)vars[2];
            var bias = vars.Length > 3 ? (Tensor)vars[3] : null;
            ctx.save_for_backward([input, weight]);
            ctx.save_data("args", a);
            ctx.save_data("needs", (input.requires_grad, weight.requires_grad, bias is { requires_grad: true }));
            AutogradOutputCache.DropAfterApply(ctx);
            return Forward(input, weight, bias, a);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            BackwardTensors.ReleaseHandedOver();
            var a = (Args)ctx.get_data("args");
            var (needInput, needWeight, needBias) = ((bool, bool, bool))ctx.get_data("needs");
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!, null!, null!];
            using var upstream = gradOutput;
            var saved = ctx.get_saved_variables();
            using Tensor input = saved[0], weight = saved[1];
            var (gradInput, gradWeight) = SymmetricConv2x2.Supports(input, weight, a.Stride, a.Dilation, a.Groups)
                ? SymmetricConv2x2.Backward(upstream, input, weight, a.Plan, a.Stride, needInput, needWeight)
                : PadThenBackward(upstream, input, weight, a, needInput, needWeight);
            var gradBias = needBias ? upstream.sum([0, 2, 3]) : null;
            BackwardTensors.ReleaseSaved(ctx);
            return BackwardTensors.HandOver(gradInput, gradWeight, null, gradBias);
        }
    }
}
