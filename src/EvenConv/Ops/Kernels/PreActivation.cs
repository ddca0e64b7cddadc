using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// A training-mode batch norm and a clamp (ReLU, ReLU6) applied per channel, <c>a = clamp(x · scale + shift, 0, upper)</c>,
/// computed where the fused 2×2 kernels read their input instead of as a tensor: on each padded row while it sits in
/// L1 cache (<see cref="ActivatePaddedRow"/>), in the forward and again, recomputed, in the weight gradient. Its backward
/// is two row passes: <see cref="MaskGradientRow"/> right after the input gradient of a row is made (clamp mask and the
/// two per-channel sums batch norm's gradient needs), then <see cref="NormGradientRows"/> once the sums are complete.
/// Channel counts are multiples of 16 (<see cref="SymmetricConv2x2.Supports"/>).
/// </summary>
internal sealed unsafe class PreActivation : IDisposable
{
    private readonly float* scale, shift;
    private readonly Vector512<float> upper;

    /// <param name="scale">γ / √(σ² + ε) per channel.</param>
    /// <param name="shift">β − μ · scale per channel.</param>
    /// <param name="upper">The clamp's upper bound: +∞ for ReLU, 6 for ReLU6.</param>
    public PreActivation(ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, float upper)
    {
        Channels = scale.Length;
        this.scale = Aligned(scale);
        this.shift = Aligned(shift);
        this.upper = Vector512.Create(upper);
    }

    public int Channels { get; }

    /// <summary>Activates padded row <paramref name="r"/> (<see cref="SymmetricPadKernel.Geometry.Wp"/> pixels, written by
    /// <see cref="SymmetricPadKernel.PadRow"/> from the raw input) in place, then zeroes again what lies in the padding
    /// of each channel group: the padding is the convolution's, applied to the activation, so it must stay zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ActivatePaddedRow(SymmetricPadKernel.Geometry g, float* row, long r)
    {
        long c = Channels;
        // Channel vector outside, pixels inside: the scale and shift stay in registers (the stores to the row could
        // alias them, so the JIT would reload them per pixel otherwise).
        for (long v = 0; v < c; v += 16)
        {
            Vector512<float> s = Vector512.Load(scale + v), b = Vector512.Load(shift + v);
            for (long at = v, end = g.Wp * c; at < end; at += c)
                Vector512.Min(Vector512.Max(Vector512.FusedMultiplyAdd(Vector512.Load(row + at), s, b), Vector512<float>.Zero), upper)
                    .Store(row + at);
        }
        for (var k = 0; k < 4; k++)
        {
            if (g.Count[k] == 0) continue;
            long i = r - g.Top[k], start = g.Start[k], count = g.Count[k];
            if (i < 0 || i >= g.H) { ZeroRuns(row + start, 0, g.Wp, c, count); continue; }
            ZeroRuns(row + start, 0, g.Left[k], c, count);
            ZeroRuns(row + start, g.Left[k] + g.W, g.Wp, c, count);
        }
    }

    /// <summary>
    /// One row of the backward through the clamp: <paramref name="grad"/> (the gradient of the activation, C per pixel)
    /// is zeroed where the clamp was flat, in place, and <c>Σ grad</c> and <c>Σ grad · x</c> of the row are added per
    /// channel to <paramref name="sums"/> (<c>[2][C]</c> doubles: a row's sum in float, the running sum in double, so the
    /// many rows of a batch lose no precision). <paramref name="x"/> is the raw input of the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MaskGradientRow(float* x, float* grad, long pixels, double* sums)
    {
        long c = Channels;
        for (long v = 0; v < c; v += 16)
        {
            Vector512<float> s = Vector512.Load(scale + v), b = Vector512.Load(shift + v), sumGrad = default, sumGradX = default;
            for (long p = 0, at = v; p < pixels; p++, at += c)
            {
                var xv = Vector512.Load(x + at);
                var a = Vector512.FusedMultiplyAdd(xv, s, b);
                var open = Vector512.GreaterThan(a, Vector512<float>.Zero) & Vector512.LessThan(a, upper);
                var gv = Vector512.Load(grad + at) & open;
                gv.Store(grad + at);
                sumGrad += gv;
                sumGradX = Vector512.FusedMultiplyAdd(gv, xv, sumGradX);
            }
            ChannelStatistics.AddTo(sums + v, sumGrad);
            ChannelStatistics.AddTo(sums + c + v, sumGradX);
        }
    }

    /// <summary>
    /// The last pass of batch norm's backward, in place over <paramref name="pixels"/> pixels: <c>grad ← a · grad + b · x + d</c>
    /// per channel, where <paramref name="coefficients"/> holds a, b and d (<c>[3][C]</c>; see
    /// <see cref="BatchNormActConv"/> for how they follow from the sums of <see cref="MaskGradientRow"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NormGradientRows(float* x, float* grad, long pixels, long channels, float* coefficients)
    {
        for (long v = 0; v < channels; v += 16)
        {
            Vector512<float> a = Vector512.Load(coefficients + v), b = Vector512.Load(coefficients + channels + v),
                d = Vector512.Load(coefficients + 2 * channels + v);
            for (long p = 0, at = v; p < pixels; p++, at += channels)
                Vector512.FusedMultiplyAdd(a, Vector512.Load(grad + at), Vector512.FusedMultiplyAdd(b, Vector512.Load(x + at), d)).Store(grad + at);
        }
    }

    /// <summary>Zeroes <paramref name="count"/> channels at <paramref name="run"/> in pixels [<paramref name="from"/>, <paramref name="to"/>).</summary>
    private static void ZeroRuns(float* run, long from, long to, long channels, long count)
    {
        for (var p = from; p < to; p++) NativeMemory.Clear(run + p * channels, (nuint)(count * sizeof(float)));
    }

    private static float* Aligned(ReadOnlySpan<float> values)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(values.Length * sizeof(float)), 64);
        values.CopyTo(new Span<float>(p, values.Length));
        return p;
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(scale);
        NativeMemory.AlignedFree(shift);
    }
}
