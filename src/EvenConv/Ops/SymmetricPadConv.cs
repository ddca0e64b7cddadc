using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Ops;

/// <summary>
/// Symmetric padding followed by a valid even-kernel convolution, as one differentiable op that keeps only what the
/// plain convolution keeps for backward: its input and weight. The padded copy is made, convolved and freed in
/// forward, and remade in backward (one pass over the input, about a tenth of the convolution's time), instead of
/// living from forward to backward as it does when <see cref="SymmetricPad.Apply"/> feeds an ordinary conv2d. Backward
/// is libtorch's own convolution backward on the remade copy, then one gather of the input gradient.
/// Equal to <c>conv2d(SymmetricPad.Apply(x, k, d), w, b, stride, 0, d, groups)</c> in value and gradients.
/// </summary>
public static class SymmetricPadConv
{
    /// <summary>Computes the convolution. <paramref name="weight"/> is (C_out, C_in/groups, k, k) with k even.</summary>
    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int dilation = 1, int groups = 1)
    {
        var plan = SymmetricPad.Plan.For(input, (int)weight.shape[2], dilation);
        var args = new Args(plan, stride, dilation, groups);
        var needsGraph = is_grad_enabled() && (input.requires_grad || weight.requires_grad || bias is { requires_grad: true });
        if (!needsGraph) return Forward(input, weight, bias, args);
        var output = bias is null ? Function.apply(input, weight, args) : Function.apply(input, weight, args, bias);
        Function.ReleaseOutputCache();
        return output;
    }

    private sealed record Args(SymmetricPad.Plan Plan, int Stride, int Dilation, int Groups);

    private static Tensor Forward(Tensor input, Tensor weight, Tensor? bias, Args a)
    {
        using var padded = a.Plan.Pad(input);
        return F.conv2d(padded, weight, bias, strides: [a.Stride, a.Stride], dilation: [a.Dilation, a.Dilation], groups: a.Groups);
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        [ThreadStatic] private static autograd.AutogradContext? lastContext;

        public override string Name => "SymmetricPadConv";

        public static void ReleaseOutputCache()
        {
            if (lastContext is { } ctx) AutogradOutputCache.Release(ctx);
            lastContext = null;
        }

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            Tensor input = (Tensor)vars[0], weight = (Tensor)vars[1];
            var a = (Args)vars[2];
            var bias = vars.Length > 3 ? (Tensor)vars[3] : null;
            ctx.save_for_backward([input, weight]);
            ctx.save_data("args", a);
            ctx.save_data("needs", (input.requires_grad, weight.requires_grad, bias is { requires_grad: true }));
            ctx.set_materialize_grads(false);
            lastContext = ctx;
            return Forward(input, weight, bias, a);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var a = (Args)ctx.get_data("args");
            var (needInput, needWeight, needBias) = ((bool, bool, bool))ctx.get_data("needs");
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!, null!, null!];
            var saved = ctx.get_saved_variables();
            Tensor input = saved[0], weight = saved[1];
            Tensor? gradPadded, gradWeight;
            using (var padded = a.Plan.Pad(input))
                (gradPadded, gradWeight) = ConvolutionBackward.Compute(gradOutput, padded, weight, a.Stride, a.Dilation, a.Groups, needInput, needWeight);
            Tensor? gradInput = null;
            if (gradPadded is not null)
            {
                gradInput = a.Plan.Unpad(gradPadded);
                gradPadded.Dispose();
            }
            var gradBias = needBias ? gradOutput.sum([0, 2, 3]) : null;
            return [gradInput!, gradWeight!, null!, gradBias!];
        }
    }
}
