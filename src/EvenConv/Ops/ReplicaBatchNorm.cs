using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// Batch norm over a batch split between replicas (the ranks of a data-parallel job), as one process on the whole
/// batch computes it: the per-channel count, sum and sum of squares are summed over the replicas in forward, and
/// batch norm's two backward sums — Σg and Σg·x — in backward. <see cref="TrainingNorm.SumOverReplicas"/> does the
/// summing; <see cref="BatchNormActConv"/> uses the same two steps inside its fused op. A replica's sums are weighted
/// by its share w = m/M of the values (m its own, M all replicas'), as the data-parallel gradient average weights the
/// replica's whole gradient: then w·∂x, the replica's part of the averaged gradient, is exactly the gradient of the
/// whole batch's loss, also when the shards differ in size.
/// </summary>
public static class ReplicaBatchNorm
{
    /// <summary>Statistics of the whole batch from this replica's own: <paramref name="mean"/> and the biased
    /// <paramref name="variance"/> (replaced in place) of <paramref name="count"/> values per channel. Returns the
    /// batch's count M.</summary>
    internal static long Combine(double[] mean, double[] variance, long count, Action<double[]> sumOverReplicas)
    {
        var c = mean.Length;
        var sums = new double[1 + 2 * c];
        sums[0] = count;
        for (var i = 0; i < c; i++) (sums[1 + i], sums[1 + c + i]) = (count * mean[i], count * (variance[i] + mean[i] * mean[i]));
        sumOverReplicas(sums);
        var total = sums[0];
        for (var i = 0; i < c; i++)
        {
            mean[i] = sums[1 + i] / total;
            variance[i] = Math.Max(0, sums[1 + c + i] / total - mean[i] * mean[i]);
        }
        return (long)total;
    }

    /// <summary>Σg and Σg·x of the whole batch (<paramref name="sums"/>: the c values of Σg, then of Σg·x, replaced in
    /// place), each replica's weighted by its <paramref name="share"/> of the values.</summary>
    internal static void SumGradients(double[] sums, double share, Action<double[]> sumOverReplicas)
    {
        for (var i = 0; i < sums.Length; i++) sums[i] *= share;
        sumOverReplicas(sums);
    }

    /// <summary>Training-mode batch norm of <paramref name="input"/> (N, C, H, W, any layout) with the whole batch's
    /// statistics; updates the running statistics as BatchNorm2d does. Needs <see cref="TrainingNorm.SumOverReplicas"/>.</summary>
    public static Tensor Apply(Tensor input, TrainingNorm norm)
    {
        ArgumentNullException.ThrowIfNull(norm);
        if (norm.SumOverReplicas is null) throw new ArgumentException("ReplicaBatchNorm needs TrainingNorm.SumOverReplicas.", nameof(norm));
        if (input.dim() != 4 || input.shape[1] != norm.Weight.shape[0])
            throw new ArgumentException($"batch norm of {norm.Weight.shape[0]} channels got input [{string.Join(", ", input.shape)}].", nameof(input));
        BackwardTensors.ReleaseHandedOver();
        var output = Function.apply(input, norm.Weight, norm.Bias, norm);
        AutogradOutputCache.ReleasePending();
        return output;
    }

    private sealed record Statistics(double[] Mean, double[] InvStd, long Count, double Share);

    private static Tensor PerChannel(IEnumerable<double> values, Tensor like) =>
        tensor(values.ToArray(), dtype: ScalarType.Float64).to_type(like.dtype).view(1, -1, 1, 1);

    private static double[] Values(Tensor t)
    {
        using var d = t.detach().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "ReplicaBatchNorm";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            Tensor input = (Tensor)vars[0], gamma = (Tensor)vars[1], beta = (Tensor)vars[2];
            var norm = (TrainingNorm)vars[3];
            using var scope = NewDisposeScope();
            var (variance, mean) = var_mean(input, [0, 2, 3], unbiased: false);
            var (meanValues, varianceValues) = (Values(mean), Values(variance));
            var count = input.shape[0] * input.shape[2] * input.shape[3];
            var total = Combine(meanValues, varianceValues, count, norm.SumOverReplicas!);
            var invStd = varianceValues.Select(v => 1 / Math.Sqrt(v + norm.Eps)).ToArray();
            BatchNormActConv.UpdateRunningStatistics(norm, meanValues, varianceValues, total);
            var g = Values(gamma);
            var scale = PerChannel(g.Select((x, i) => x * invStd[i]), input);
            var shift = PerChannel(Values(beta).Select((b, i) => b - meanValues[i] * g[i] * invStd[i]), input);
            ctx.save_for_backward([input]);
            ctx.save_data("stats", new Statistics(meanValues, invStd, count, (double)count / total));
            ctx.save_data("norm", norm);
            ctx.save_data("needs", (input.requires_grad, gamma.requires_grad || beta.requires_grad));
            AutogradOutputCache.DropAfterApply(ctx);
            return input.mul(scale).add_(shift).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            BackwardTensors.ReleaseHandedOver();
            var s = (Statistics)ctx.get_data("stats");
            var norm = (TrainingNorm)ctx.get_data("norm");
            var (needInput, needNorm) = ((bool, bool))ctx.get_data("needs");
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!, null!, null!];
            using var upstream = gradOutput;
            using var input = ctx.get_saved_variables()[0];
            var c = s.Mean.Length;
            Tensor? gradInput = null, gradGamma = null, gradBeta = null;
            using (var scope = NewDisposeScope())
            {
                var sums = Values(upstream.sum([0, 2, 3])).Concat(Values(upstream.mul(input).sum([0, 2, 3]))).ToArray();
                // ∂γ and ∂β from this replica's values; the gradient average adds the other replicas' parts.
                var dGamma = Enumerable.Range(0, c).Select(i => s.InvStd[i] * (sums[c + i] - s.Mean[i] * sums[i]));
                if (needNorm)
                {
                    gradGamma = PerChannel(dGamma, input).flatten().MoveToOuterDisposeScope();
                    gradBeta = PerChannel(sums.Take(c), input).flatten().MoveToOuterDisposeScope();
                }
                if (needInput)
                {
                    SumGradients(sums, s.Share, norm.SumOverReplicas!);
                    var gamma = Values(norm.Weight);
                    // ∂x = a·g + b·x + d per channel, the same coefficients as BatchNormActConv's backward.
                    double[] a = new double[c], b = new double[c], d = new double[c];
                    for (var i = 0; i < c; i++)
                    {
                        var sumGradNormed = s.InvStd[i] * (sums[c + i] - s.Mean[i] * sums[i]);
                        a[i] = gamma[i] * s.InvStd[i];
                        b[i] = -a[i] * s.InvStd[i] * sumGradNormed / s.Count;
                        d[i] = -a[i] * sums[i] / s.Count - b[i] * s.Mean[i];
                    }
                    gradInput = upstream.mul(PerChannel(a, input)).add_(input.mul(PerChannel(b, input))).add_(PerChannel(d, input)).MoveToOuterDisposeScope();
                }
            }
            BackwardTensors.ReleaseSaved(ctx);
            return BackwardTensors.HandOver(gradInput, gradGamma, gradBeta, null);
        }
    }
}
