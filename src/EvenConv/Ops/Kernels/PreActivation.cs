using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// A training-mode batch norm and a clamp (ReLU, ReLU6) applied per channel, <c>a = clamp(x · scale + shift, 0, upper)</c>,
/// computed where the fused 2×2 kernels read their input instead of as a tensor: on each input row while it sits in L1
/// cache (<see cref="ActivateRow"/>, on the rows of <see cref="ExtendedRows"/>), in the forward and again, recomputed, in
/// the weight gradient. Its backward
/// is two row passes: <see cref="MaskGradientRow"/> right after the input gradient of a row is made (clamp mask and the
/// two per-channel sums batch norm's gradient needs), then <see cref="NormGradientRows"/> once the sums are complete.
/// Channel counts are multiples of 16 (<see cref="SymmetricConv2x2.Supports"/>), so of every vector width.
/// </summary>
internal sealed unsafe class PreActivation : IDisposable
{
    private readonly float* scale, shift;
    private readonly float upper;

    /// <param name="scale">γ / √(σ² + ε) per channel.</param>
    /// <param name="shift">β − μ · scale per channel.</param>
    /// <param name="upper">The clamp's upper bound: +∞ for ReLU, 6 for ReLU6.</param>
    public PreActivation(ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, float upper)
    {
        Channels = scale.Length;
        this.scale = Aligned(scale);
        this.shift = Aligned(shift);
        this.upper = upper;
    }

    public int Channels { get; }

    /// <summary>Activates <paramref name="pixels"/> pixels of a row of the raw input in place.</summary>
    public void ActivateRow(float* row, long pixels)
    {
        if (Simd.Wide) Activate<Simd512, Vector512<float>>(row, pixels);
        else Activate<Simd256, Vector256<float>>(row, pixels);
    }

    /// <summary>The clamp of the affine map, in place, over <paramref name="pixels"/> pixels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Activate<TI, TV>(float* row, long pixels) where TI : struct, ISimd<TV> where TV : struct
    {
        long c = Channels;
        var top = TI.Splat(upper);
        // Channel vector outside, pixels inside: the scale and shift stay in registers (the stores to the row could
        // alias them, so the JIT would reload them per pixel otherwise).
        for (long v = 0; v < c; v += TI.Width)
        {
            TV s = TI.Load(scale + v), b = TI.Load(shift + v);
            for (long at = v, end = pixels * c; at < end; at += c) TI.Store(TI.Clamp(TI.Fma(TI.Load(row + at), s, b), top), row + at);
        }
    }

    /// <summary>
    /// One row of the backward through the clamp: <paramref name="grad"/> (the gradient of the activation, C per pixel)
    /// is zeroed where the clamp was flat, in place, and <c>Σ grad</c> and <c>Σ grad · x</c> of the row are added per
    /// channel to <paramref name="sums"/> (<c>[2][C]</c> doubles: a row's sum in float, the running sum in double, so the
    /// many rows of a batch lose no precision). <paramref name="x"/> is the raw input of the row.
    /// </summary>
    public void MaskGradientRow(float* x, float* grad, long pixels, double* sums)
    {
        if (Simd.Wide) MaskGradientRow<Simd512, Vector512<float>>(x, grad, pixels, sums);
        else MaskGradientRow<Simd256, Vector256<float>>(x, grad, pixels, sums);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MaskGradientRow<TI, TV>(float* x, float* grad, long pixels, double* sums) where TI : struct, ISimd<TV> where TV : struct
    {
        long c = Channels;
        var top = TI.Splat(upper);
        for (long v = 0; v < c; v += TI.Width)
        {
            TV s = TI.Load(scale + v), b = TI.Load(shift + v), sumGrad = default, sumGradX = default;
            for (long p = 0, at = v; p < pixels; p++, at += c)
            {
                var xv = TI.Load(x + at);
                var gv = TI.WhereOpen(TI.Load(grad + at), TI.Fma(xv, s, b), top);
                TI.Store(gv, grad + at);
                sumGrad = TI.Add(sumGrad, gv);
                sumGradX = TI.Fma(gv, xv, sumGradX);
            }
            TI.AddTo(sums + v, sumGrad);
            TI.AddTo(sums + c + v, sumGradX);
        }
    }

    /// <summary>
    /// The last pass of batch norm's backward, in place over <paramref name="pixels"/> pixels: <c>grad ← a · grad + b · x + d</c>
    /// per channel, where <paramref name="coefficients"/> holds a, b and d (<c>[3][C]</c>; see
    /// <see cref="BatchNormActConv"/> for how they follow from the sums of <see cref="MaskGradientRow"/>).
    /// </summary>
    public static void NormGradientRows(float* x, float* grad, long pixels, long channels, float* coefficients)
    {
        if (Simd.Wide) NormGradientRows<Simd512, Vector512<float>>(x, grad, pixels, channels, coefficients);
        else NormGradientRows<Simd256, Vector256<float>>(x, grad, pixels, channels, coefficients);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormGradientRows<TI, TV>(float* x, float* grad, long pixels, long channels, float* coefficients)
        where TI : struct, ISimd<TV> where TV : struct
    {
        for (long v = 0; v < channels; v += TI.Width)
        {
            TV a = TI.Load(coefficients + v), b = TI.Load(coefficients + channels + v), d = TI.Load(coefficients + 2 * channels + v);
            for (long p = 0, at = v; p < pixels; p++, at += channels)
                TI.Store(TI.Fma(a, TI.Load(grad + at), TI.Fma(b, TI.Load(x + at), d)), grad + at);
        }
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
