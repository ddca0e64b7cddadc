using System.Numerics;
using System.Runtime.InteropServices;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// Rows of a channels_last float32 map (N, H, W, C in memory) with one zero pixel on each side, so that every read of a
/// 2×2 window shifted by symmetric padding, or of the transposed convolution of a padded border, stays inside a row;
/// rows outside the map read as zeros. With a <see cref="PreActivation"/> the copy is activated on the way, so the zero
/// pixels stay zero. The last <c>slots</c> rows asked for (at least: a power of two, so that finding a row's slot is a
/// mask, not a division) are held.
/// </summary>
internal sealed unsafe class ExtendedRows : IDisposable
{
    private readonly float* map, buffer, zeros;
    private readonly long h, w, k, rowFloats;
    private readonly PreActivation? pre;
    private readonly long[] held;

    public ExtendedRows(float* map, long height, long width, long channels, int slots, PreActivation? activation = null)
    {
        this.map = map;
        (h, w, k) = (height, width, channels);
        pre = activation;
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
            CopyInterior(map, w, k, pre, dst, n * h + row);
            held[slot] = n * h + row;
        }
        return dst;
    }

    /// <summary>Writes row <paramref name="row"/> of image <paramref name="n"/> of the (N, <paramref name="height"/>,
    /// <paramref name="width"/>, <paramref name="channels"/>) map into the extended row <paramref name="dst"/>
    /// (<paramref name="width"/> + 2 pixels, whose first and last pixels the caller keeps zero): all zeros outside the map.</summary>
    public static void Make(float* map, long height, long width, long channels, PreActivation? activation, float* dst, long n, long row)
    {
        if (row < 0 || row >= height) NativeMemory.Clear(dst, (nuint)((width + 2) * channels * sizeof(float)));
        else CopyInterior(map, width, channels, activation, dst, n * height + row);
    }

    private static void CopyInterior(float* map, long width, long channels, PreActivation? activation, float* dst, long mapRow)
    {
        var bytes = width * channels * sizeof(float);
        Buffer.MemoryCopy(map + mapRow * width * channels, dst + channels, bytes, bytes);
        activation?.ActivateRow(dst + channels, width);
    }

    public void Dispose() => NativeMemory.AlignedFree(buffer);
}
