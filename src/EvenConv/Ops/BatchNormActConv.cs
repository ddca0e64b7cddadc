using EvenConv.Ops.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>The tensors and settings of a training-mode batch norm, as <see cref="BatchNormActConv"/> reads and updates
/// them (the fields of PyTorch's BatchNorm2d).</summary>
/// <param name="Weight">γ, one per channel.</param>
/// <param name="Bias">β, one per channel.</param>
/// <param name="RunningMean">Updated in place; null when the norm keeps no running statistics.</param>
/// <param name="RunningVar">Updated in place with the unbiased batch variance; null with <paramref name="RunningMean"/>.</param>
/// <param name="BatchesTracked">Incremented in place; may be null.</param>
/// <param name="Momentum">Weight of the batch in the running averages; null for a cumulative average.</param>
/// <param name="Eps">Added to the variance.</param>
/// <param name="SumOverReplicas">For a batch split between the ranks of a data-parallel job (synchronized batch norm):
/// replaces each element of its argument with the sum over the ranks. Null: this process's batch is the whole batch.
/// See <see cref="ReplicaBatchNorm"/>.</param>
public sealed record TrainingNorm(Tensor Weight, Tensor Bias, Tensor? RunningMean, Tensor? RunningVar, Tensor? BatchesTracked,
    double? Momentum, double Eps, Action<double[]>? SumOverReplicas = null);

/// <summary>
/// Pre-activation before a C2sp convolution as one op: <c>conv2d(SymmetricPad(clamp(BN(x), 0, upper)), w, b, stride)</c>
/// with BN in training mode (batch statistics, running statistics updated as PyTorch does), on the fused 2×2 kernels.
/// The normalised and activated map is never stored: the kernels compute it on each padded row as they read it, in the
/// forward and again in the weight gradient, so the op keeps for backward only what batch norm alone keeps — its input —
/// instead of also the activation (one feature map per layer less) and makes two fewer passes over memory each way.
/// Backward: the input-gradient rows of the convolution go through the clamp mask and into batch norm's two sums while
/// in cache (<see cref="PreActivation.MaskGradientRow"/>), then one pass applies batch norm's gradient:
/// <c>∂x = a·g + b·x + d</c> per channel, with <c>a = γ/σ</c>, <c>b = −a·Σ(g·x̂)/(σ·M)</c>, <c>d = −a·Σg/M − b·μ</c>
/// (M values per channel, x̂ = (x − μ)/σ), which is PyTorch's <c>γ/σ · (g − mean(g) − x̂ · mean(g · x̂))</c>.
/// <see cref="Supports"/> says when it applies; elsewhere callers run the three ops. With
/// <see cref="TrainingNorm.SumOverReplicas"/> the statistics and backward sums are those of the whole batch of a
/// data-parallel step (<see cref="ReplicaBatchNorm"/>).
/// </summary>
public static class BatchNormActConv
{
    /// <summary>True when the op computes a 2×2 symmetric-padding convolution of this input and weight at this stride:
    /// the fused kernels take the shape and there are at least two values per channel to normalise.</summary>
    public static bool Supports(Tensor input, Tensor weight, int stride) =>
        input.dim() == 4 && weight.dim() == 4 && input.shape[1] == weight.shape[1] &&
        input.shape[0] * input.shape[2] * input.shape[3] > 1 && SymmetricConv2x2.Supports(input, weight, stride, 1, 1);

    /// <summary>Computes the op; <paramref name="upper"/> is the clamp's upper bound (+∞: ReLU, 6: ReLU6).</summary>
    public static Tensor Apply(Tensor input, TrainingNorm norm, float upper, Tensor weight, Tensor? bias = null, int stride = 1)
    {
        ArgumentNullException.ThrowIfNull(norm);
        if (!Supports(input, weight, stride))
            throw new ArgumentException($"BatchNormActConv takes float32 channels_last inputs with 16, 32, 48 or 64 channels, a matching 2×2 weight and stride 1 or 2 on AVX-512 or AVX2 with FMA (see Supports); got input [{string.Join(", ", input.shape)}] {input.dtype}, weight [{string.Join(", ", weight.shape)}], stride {stride}.", nameof(input));
        BackwardTensors.ReleaseHandedOver();
        var args = new Args(SymmetricPad.Plan.For(input, 2, 1), stride, upper, norm);
        var needsGraph = is_grad_enabled() && (input.requires_grad || weight.requires_grad || norm.Weight.requires_grad ||
            norm.Bias.requires_grad || bias is { requires_grad: true });
        if (!needsGraph)
        {
            var stats = Normalize(input, args);
            using var pre = stats.Kernel(upper);
            return SymmetricConv2x2.Forward(input, weight, bias, args.Plan, stride, pre);
        }
        var output = bias is null
            ? Function.apply(input, norm.Weight, norm.Bias, weight, args)
            : Function.apply(input, norm.Weight, norm.Bias, weight, args, bias);
        AutogradOutputCache.ReleasePending();
        return output;
    }

    private sealed record Args(SymmetricPad.Plan Plan, int Stride, float Upper, TrainingNorm Norm);

    /// <summary>The batch statistics of one call, γ, and the affine map they give: <c>scale = γ/σ</c>, <c>shift = β − μ·scale</c>;
    /// <paramref name="Count"/> values per channel here, <paramref name="Share"/> of the whole batch's (1 without replicas).</summary>
    private sealed record Statistics(double[] Mean, double[] InvStd, double[] Gamma, float[] Scale, float[] Shift, long Count, double Share)
    {
        public PreActivation Kernel(float upper) => new(Scale, Shift, upper);
    }

    /// <summary>Batch statistics of <paramref name="input"/>; updates the running statistics.</summary>
    private static unsafe Statistics Normalize(Tensor input, Args a)
    {
        long n = input.shape[0], c = input.shape[1], h = input.shape[2], w = input.shape[3], count = n * h * w;
        var (mean, variance) = ChannelStatistics.Compute((float*)TensorMemory.Address(input), n * h, w, c);
        var total = a.Norm.SumOverReplicas is { } sum ? ReplicaBatchNorm.Combine(mean, variance, count, sum) : count;
        var gamma = Values(a.Norm.Weight);
        var beta = Values(a.Norm.Bias);
        var invStd = new double[c];
        var scale = new float[c];
        var shift = new float[c];
        for (var i = 0; i < c; i++)
        {
            invStd[i] = 1 / Math.Sqrt(variance[i] + a.Norm.Eps);
            scale[i] = (float)(gamma[i] * invStd[i]);
            shift[i] = (float)(beta[i] - mean[i] * gamma[i] * invStd[i]);
        }
        UpdateRunningStatistics(a.Norm, mean, variance, total);
        return new Statistics(mean, invStd, gamma, scale, shift, count, (double)count / total);
    }

    /// <summary>As BatchNorm2d does in training: the batch count goes up by one, and the running mean and (unbiased)
    /// variance move towards the batch's by the momentum, or by 1 / batches for a cumulative average.</summary>
    internal static void UpdateRunningStatistics(TrainingNorm norm, double[] mean, double[] variance, long count)
    {
        using var _ = no_grad();
        norm.BatchesTracked?.add_(1);
        if (norm.RunningMean is null || norm.RunningVar is null) return;
        var factor = norm.Momentum ?? 1.0 / Math.Max(1, norm.BatchesTracked?.item<long>() ?? 1);
        using var batchMean = tensor(mean, dtype: norm.RunningMean.dtype);
        using var batchVar = tensor(variance.Select(v => v * count / (count - 1)).ToArray(), dtype: norm.RunningVar.dtype);
        norm.RunningMean.mul_(1 - factor).add_(batchMean, alpha: factor);
        norm.RunningVar.mul_(1 - factor).add_(batchVar, alpha: factor);
    }

    private static double[] Values(Tensor t)
    {
        using var _ = no_grad();
        using var d = t.detach().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }

    /// <summary>Batch norm's backward from the activation's masked gradient <paramref name="grad"/> (overwritten with the
    /// input's gradient when <paramref name="needInput"/>) and its sums; returns ∂γ and ∂β.</summary>
    private static unsafe (Tensor Gamma, Tensor Beta) NormBackward(Tensor input, Tensor grad, Statistics s, double[] sums, bool needInput, TrainingNorm norm)
    {
        long c = s.Mean.Length, m = s.Count;
        var dGamma = new float[c];
        var dBeta = new float[c];
        var coefficients = new float[3 * c];
        // ∂γ and ∂β from this process's values; with replicas the gradient average adds the others' parts, and ∂x takes
        // the whole batch's sums.
        for (var i = 0; i < c; i++) (dGamma[i], dBeta[i]) = ((float)(s.InvStd[i] * (sums[c + i] - s.Mean[i] * sums[i])), (float)sums[i]);
        if (norm.SumOverReplicas is { } sum && needInput) ReplicaBatchNorm.SumGradients(sums, s.Share, sum);
        for (var i = 0; i < c; i++)
        {
            double sumGrad = sums[i], sumGradNormed = s.InvStd[i] * (sums[c + i] - s.Mean[i] * sumGrad);
            double a = s.Gamma[i] * s.InvStd[i], b = -a * s.InvStd[i] * sumGradNormed / m;
            (coefficients[i], coefficients[c + i], coefficients[2 * c + i]) = ((float)a, (float)b, (float)(-a * sumGrad / m - b * s.Mean[i]));
        }
        if (needInput)
        {
            long rows = input.shape[0] * input.shape[2], pixels = input.shape[3];
            var x = (float*)TensorMemory.Address(input);
            var g = (float*)TensorMemory.Address(grad);
            fixed (float* k = coefficients)
            {
                var at = (IntPtr)k;
                LibTorchThreads.ForRanges(rows, LibTorchThreads.Chunks(rows, 8), (_, first, end) =>
                    PreActivation.NormGradientRows(x + first * pixels * c, g + first * pixels * c, (end - first) * pixels, c, (float*)at));
            }
        }
        return (tensor(dGamma), tensor(dBeta));
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "BatchNormActConv";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            Tensor input = (Tensor)vars[0], gamma = (Tensor)vars[1], beta = (Tensor)vars[2], weight = (Tensor)vars[3];
            var a = (Args)vars[4];
            var bias = vars.Length > 5 ? (Tensor)vars[5] : null;
            var stats = Normalize(input, a);
            ctx.save_for_backward([input, weight]);
            ctx.save_data("args", a);
            ctx.save_data("stats", stats);
            ctx.save_data("needs", (input.requires_grad, weight.requires_grad, gamma.requires_grad || beta.requires_grad, bias is { requires_grad: true }));
            AutogradOutputCache.DropAfterApply(ctx);
            using var pre = stats.Kernel(a.Upper);
            return SymmetricConv2x2.Forward(input, weight, bias, a.Plan, a.Stride, pre);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            BackwardTensors.ReleaseHandedOver();
            var a = (Args)ctx.get_data("args");
            var stats = (Statistics)ctx.get_data("stats");
            var (needInput, needWeight, needNorm, needBias) = ((bool, bool, bool, bool))ctx.get_data("needs");
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!, null!, null!, null!, null!];
            using var upstream = gradOutput;
            var saved = ctx.get_saved_variables();
            using Tensor input = saved[0], weight = saved[1];
            var sums = new double[2 * input.shape[1]];
            Tensor? gradInput, gradWeight;
            using (var pre = stats.Kernel(a.Upper))
                (gradInput, gradWeight) = SymmetricConv2x2.Backward(upstream, input, weight, a.Plan, a.Stride, needInput: true, needWeight, pre, sums);
            var (gradGamma, gradBeta) = NormBackward(input, gradInput!, stats, sums, needInput, a.Norm);
            if (!needInput) { gradInput!.Dispose(); gradInput = null; }
            if (!needNorm) { gradGamma.Dispose(); gradBeta.Dispose(); (gradGamma, gradBeta) = (null!, null!); }
            var gradBias = needBias ? upstream.sum([0, 2, 3]) : null;
            BackwardTensors.ReleaseSaved(ctx);
            return BackwardTensors.HandOver(gradInput, gradGamma, gradBeta, gradWeight, null, gradBias);
        }
    }
}
