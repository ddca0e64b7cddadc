using System.Numerics;
using System.Runtime.InteropServices;

namespace EvenConv.Ops.Kernels;

/// <summary>The two most recent padded rows of an input, in a ring of two row buffers: a row is padded (and, with a
/// <see cref="PreActivation"/>, activated) once and then serves as the lower row of one output row and the upper row of
/// the next.</summary>
internal sealed unsafe class PaddedRows : IDisposable
{
    private readonly SymmetricPadKernel.Geometry g;
    private readonly PreActivation? pre;
    private readonly float* buffer;
    private readonly long rowFloats;
    private readonly long[] held = [-1, -1];   // n · Hp + r of the row in each slot

    public PaddedRows(SymmetricPadKernel.Geometry geometry, PreActivation? preActivation)
    {
        g = geometry;
        pre = preActivation;
        rowFloats = g.Wp * g.C;
        buffer = (float*)NativeMemory.AlignedAlloc((nuint)(2 * rowFloats * sizeof(float)), 64);
    }

    /// <summary>Padded row <paramref name="r"/> of image <paramref name="n"/> of <paramref name="x"/>.</summary>
    public float* Get(byte* x, long n, long r)
    {
        var slot = r & 1;
        var dst = buffer + slot * rowFloats;
        if (held[slot] != n * g.Hp + r)
        {
            Make(g, pre, x, dst, n, r);
            held[slot] = n * g.Hp + r;
        }
        return dst;
    }

    /// <summary>Writes padded row <paramref name="r"/> of image <paramref name="n"/> of <paramref name="x"/> to
    /// <paramref name="dst"/>, activated by <paramref name="preActivation"/> where given: the convolution's input row.</summary>
    public static void Make(SymmetricPadKernel.Geometry g, PreActivation? preActivation, byte* x, float* dst, long n, long r)
    {
        SymmetricPadKernel.PadRow(g, x, (byte*)dst, n, r);
        preActivation?.ActivatePaddedRow(g, dst, r);
    }

    public void Dispose() => NativeMemory.AlignedFree(buffer);
}

/// <summary>Upstream-gradient rows with one zero pixel on each side, so that the transposed convolution of the
/// padded border needs no edge cases; rows outside the map read as zeros. The last <c>slots</c> rows asked for (at
/// least: a power of two, so that finding a row's slot is a mask, not a division) are held.</summary>
internal sealed unsafe class ExtendedRows : IDisposable
{
    private readonly float* gy, buffer, zeros;
    private readonly long h, w, k, rowFloats;
    private readonly long[] held;

    public ExtendedRows(float* gradOutput, long height, long width, long channels, int slots)
    {
        gy = gradOutput;
        (h, w, k) = (height, width, channels);
        rowFloats = (w + 2) * k;
        held = Enumerable.Repeat(-1L, (int)BitOperations.RoundUpToPowerOf2((uint)slots)).ToArray();
        var bytes = (nuint)((held.Length + 1) * rowFloats * sizeof(float));
        buffer = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(buffer, bytes);   // border pixels stay zero; interiors are overwritten
        zeros = buffer + held.Length * rowFloats;
    }

    /// <summary>Row <paramref name="row"/> of image <paramref name="n"/>, extended, at its zero pixel in front.</summary>
    public float* Get(long n, long row)
    {
        if (row < 0 || row >= h) return zeros;
        var slot = row & (held.Length - 1);
        var dst = buffer + slot * rowFloats;
        if (held[slot] != n * h + row)
        {
            var bytes = w * k * sizeof(float);
            Buffer.MemoryCopy(gy + (n * h + row) * w * k, dst + k, bytes, bytes);
            held[slot] = n * h + row;
        }
        return dst;
    }

    public void Dispose() => NativeMemory.AlignedFree(buffer);
}
