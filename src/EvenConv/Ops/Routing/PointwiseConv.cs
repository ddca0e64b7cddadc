using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Ops.Routing;

/// <summary>
/// A 1×1 convolution computed as the matrix product it is: on a channels_last (NHWC) map the pixels are the rows of
/// an (N·H·W) × C matrix, so <c>y = x · Wᵀ + b</c> is one GEMM (<c>F.linear</c>, MKL's sgemm on CPU) with no copy in or
/// out; on an NCHW map it is a batched <c>W · x[n]</c>. A stride samples every s-th pixel first. Autograd comes from
/// the GEMM itself (two GEMMs in backward), and only the input and weight are saved, as a convolution saves.
/// <para>Why it exists: libtorch's CPU convolution runs 1×1 layers on oneDNN's brgemm 1×1 kernels, whose blocking
/// heuristic divides by zero (SIGFPE, the process dies) on hosts whose CPUID reports a cache size it does not expect
/// (seen on a Zen 5 VM reporting a 508 MiB L3: C512→1024 at 7×7 in channels_last); see <see cref="ConvRouting"/>.</para>
/// </summary>
public static class PointwiseConv
{
    /// <summary>Computes <c>conv2d(input, weight, bias, stride)</c> for a (C_out, C_in, 1, 1) weight, groups 1, no padding.</summary>
    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1)
    {
        if (input.dim() != 4) throw new ArgumentException($"PointwiseConv: expected a 4-D (N, C, H, W) input, got shape [{string.Join(", ", input.shape)}].", nameof(input));
        if (weight.dim() != 4 || weight.shape[2] != 1 || weight.shape[3] != 1 || weight.shape[1] != input.shape[1])
            throw new ArgumentException($"PointwiseConv: the weight must be (C_out, {input.shape[1]}, 1, 1), got [{string.Join(", ", weight.shape)}].", nameof(weight));
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "stride must be at least 1.");
        using var scope = NewDisposeScope();
        var channelsLast = TensorLayout.IsChannelsLast(input);
        var x = stride == 1 ? input : input.slice(2, 0, input.shape[2], stride).slice(3, 0, input.shape[3], stride);
        var matrix = weight.reshape(weight.shape[0], weight.shape[1]);
        Tensor y;
        if (channelsLast)
        {
            // NHWC pixels × channels: linear multiplies the last dimension; the product [N, H', W', C_out] is
            // contiguous, i.e. channels_last once permuted back.
            y = F.linear(x.permute(0, 2, 3, 1), matrix, bias).permute(0, 3, 1, 2);
        }
        else
        {
            var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
            y = matmul(matrix, x.reshape(n, c, h * w));
            if (bias is not null) y = y + bias.view(1, -1, 1);
            y = y.view(n, -1, h, w);
        }
        return y.MoveToOuterDisposeScope();
    }
}
