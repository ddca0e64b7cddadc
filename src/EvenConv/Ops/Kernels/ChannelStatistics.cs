using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// Per-channel batch mean and (biased) variance of a channels_last float32 map in one read pass, split over libtorch's
/// threads: what a training-mode batch norm normalises with. Each channel is summed about its first value (the
/// shifted-data algorithm: Σ(x − s) and Σ(x − s)², so a mean large against the spread cancels no digits), a row in
/// float and the running sums in double; chunks are added in order, so the result does not depend on the thread count.
/// Channel counts are multiples of 16.
/// </summary>
internal static unsafe class ChannelStatistics
{
    /// <summary>Mean and variance of each of the <paramref name="channels"/> channels of <paramref name="rows"/> rows of
    /// <paramref name="pixels"/> pixels at <paramref name="x"/>.</summary>
    public static (double[] Mean, double[] Variance) Compute(float* x, long rows, long pixels, long channels)
    {
        var reference = new float[channels];
        new ReadOnlySpan<float>(x, (int)channels).CopyTo(reference);
        var chunks = LibTorchThreads.Chunks(rows, 8);
        var sums = new double[chunks, 2 * channels];
        fixed (float* s = reference)
        fixed (double* all = sums)
        {
            var (shiftAt, sumsAt) = ((IntPtr)s, (IntPtr)all);
            LibTorchThreads.ForRanges(rows, chunks, (chunk, first, end) =>
            {
                var into = (double*)sumsAt + chunk * 2 * channels;
                for (var row = first; row < end; row++)
                    AddRow(x + row * pixels * channels, pixels, channels, (float*)shiftAt, into);
            });
        }
        var mean = new double[channels];
        var variance = new double[channels];
        double count = rows * pixels;
        for (var c = 0; c < channels; c++)
        {
            double sum = 0, squares = 0;
            for (var chunk = 0; chunk < chunks; chunk++) (sum, squares) = (sum + sums[chunk, c], squares + sums[chunk, channels + c]);
            var shifted = sum / count;
            mean[c] = reference[c] + shifted;
            variance[c] = Math.Max(0, squares / count - shifted * shifted);
        }
        return (mean, variance);
    }

    private static void AddRow(float* row, long pixels, long channels, float* reference, double* sums)
    {
        if (Simd.Wide) AddRow<Simd512, Vector512<float>>(row, pixels, channels, reference, sums);
        else AddRow<Simd256, Vector256<float>>(row, pixels, channels, reference, sums);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRow<TI, TV>(float* row, long pixels, long channels, float* reference, double* sums)
        where TI : struct, ISimd<TV> where TV : struct
    {
        for (long v = 0; v < channels; v += TI.Width)
        {
            var s = TI.Load(reference + v);
            TV sum = default, squares = default;
            for (long p = 0, at = v; p < pixels; p++, at += channels)
            {
                var d = TI.Subtract(TI.Load(row + at), s);
                sum = TI.Add(sum, d);
                squares = TI.Fma(d, d, squares);
            }
            TI.AddTo(sums + v, sum);
            TI.AddTo(sums + channels + v, squares);
        }
    }
}
