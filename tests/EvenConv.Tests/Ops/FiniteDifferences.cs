using static TorchSharp.torch;

namespace EvenConv.Tests.Ops;

/// <summary>Central finite differences of a scalar function of one float64 tensor, element by element.</summary>
internal static class FiniteDifferences
{
    public static Tensor Gradient(Func<double> loss, Tensor input, double eps = 1e-6)
    {
        using var _ = no_grad();
        var grad = zeros_like(input).contiguous();
        var flatGrad = grad.view(-1);
        var count = input.numel();
        for (long i = 0; i < count; i++)
        {
            var index = Unravel(i, input.shape);
            var original = input[index].item<double>();
            input[index] = original + eps;
            var plus = loss();
            input[index] = original - eps;
            var minus = loss();
            input[index] = original;
            flatGrad[i] = (plus - minus) / (2 * eps);
        }
        return grad;
    }

    private static TensorIndex[] Unravel(long flat, long[] shape)
    {
        var index = new TensorIndex[shape.Length];
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = TensorIndex.Single(flat % shape[d]);
            flat /= shape[d];
        }
        return index;
    }
}
