using System.Numerics;
using static TorchSharp.torch;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// A 2×2 kernel (C_out, C_in, 2, 2), in any memory layout, repacked tap-major for the row kernels: <c>[tap][k][lanes]</c>
/// with the reduction channel k outside and the 16-lane vectors inside, tap = 2·ty + tx. The forward reduces over
/// input channels (lanes = output channels); the input gradient reduces over output channels (lanes = input channels)
/// and is a convolution too, with the kernel turned by 180°.
/// </summary>
internal sealed unsafe class PackedWeight : IDisposable
{
    private readonly Tensor packed;

    // libtorch's own transpose copy (one parallel pass) makes the packed layout; its buffers are 64-byte aligned.
    private PackedWeight(Tensor weight, bool rotate, params long[] order)
    {
        using var _ = no_grad();
        using var detached = weight.detach();
        using var turned = rotate ? detached.flip(2, 3) : null;
        using var permuted = (turned ?? detached).permute(order);
        packed = permuted.contiguous();
        Data = (float*)TensorMemory.Address(packed);
    }

    /// <summary>The packed values.</summary>
    public float* Data { get; }

    /// <summary><c>[tap][c_in][c_out]</c>.</summary>
    public static PackedWeight ForForward(Tensor weight) => new(weight, false, 2, 3, 1, 0);

    /// <summary><c>[tap][c_out][c_in]</c> of the kernel turned by 180° (tap (ty, tx) holds w[1 − ty, 1 − tx]): the
    /// padded input's gradient is its convolution with the upstream gradient, zero-extended by one pixel on each side.</summary>
    public static PackedWeight ForInputGradient(Tensor weight) => new(weight, true, 2, 3, 0, 1);

    /// <summary>Where tap (<paramref name="ty"/>, <paramref name="tx"/>) of the original kernel lies in a packing made by
    /// <see cref="ForInputGradient"/>, in taps.</summary>
    public static int TurnedTap(long ty, long tx) => (int)(3 - 2 * ty - tx);

    /// <summary>The sum of <c>[tap][c_in][c_out]</c> accumulators, in list order, as a tensor shaped and laid out like
    /// <paramref name="weight"/>.</summary>
    public static Tensor Unpack(IReadOnlyList<IntPtr> accumulators, Tensor weight)
    {
        long co = weight.shape[0], ci = weight.shape[1], count = 4 * co * ci;
        using var packedSum = empty([2, 2, ci, co], ScalarType.Float32);
        var sum = (float*)TensorMemory.Address(packedSum);
        Buffer.MemoryCopy((float*)accumulators[0], sum, count * sizeof(float), count * sizeof(float));
        for (var a = 1; a < accumulators.Count; a++)
        {
            var add = (float*)accumulators[a];
            long i = 0;
            for (; i + Vector<float>.Count <= count; i += Vector<float>.Count) Vector.Store(Vector.Load(sum + i) + Vector.Load(add + i), sum + i);
            for (; i < count; i++) sum[i] += add[i];
        }
        // libtorch's copy does the transposition into the weight's layout, vectorised (a scalar loop here was most of
        // the weight gradient's fixed cost).
        using var asWeight = packedSum.permute(3, 2, 0, 1);
        var result = empty_like(weight, requires_grad: false);
        result.copy_(asWeight);
        return result;
    }

    public void Dispose() => packed.Dispose();
}
