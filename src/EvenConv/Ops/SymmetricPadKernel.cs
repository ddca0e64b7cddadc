using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// The memory movement of symmetric padding, written as plain loops over dense CPU tensors. libtorch has no op for
/// "shift each channel group by its own offset": composed from narrow/copy_/cat it runs one strided copy per group
/// whose innermost contiguous run, in channels_last, is only C/4 elements — measured 6–10× slower than a plain copy
/// of the same bytes. These loops write every element of the result exactly once (borders included, so the buffer
/// needs no zero fill) and read every input element once, on the calling thread: splitting the loop over two .NET
/// threads measured slower here, since libtorch's OpenMP workers keep spinning on the other core after each op.
/// Other devices and layouts return null and the caller uses libtorch ops.
/// </summary>
internal static unsafe class SymmetricPadKernel
{
    /// <summary>The padded copy of <paramref name="x"/>, in x's layout; null when x is not a dense CPU tensor.</summary>
    public static Tensor? Pad(Tensor x, long[] groupSizes, Padding2d[] pads)
    {
        if (!TryLayout(x, out var channelsLast)) return null;
        var g = new Geometry(x, groupSizes, pads, padded: false);
        var result = channelsLast
            ? empty([g.N, g.Hp, g.Wp, g.C], dtype: x.dtype).permute(0, 3, 1, 2)
            : empty([g.N, g.C, g.Hp, g.Wp], dtype: x.dtype);
        var src = TensorMemory.Address(x);
        var dst = TensorMemory.Address(result);
        if (channelsLast) for (long row = 0; row < g.N * g.Hp; row++) PadRowNhwc(g, src, dst, row);
        else for (long plane = 0; plane < g.N * g.C; plane++) PadPlaneNchw(g, src, dst, plane);
        return result;
    }

    /// <summary>The inverse gather: the gradient of the unpadded input from the gradient of the padded tensor
    /// <paramref name="paddedGrad"/>; null when it is not a dense CPU tensor.</summary>
    public static Tensor? Unpad(Tensor paddedGrad, long[] groupSizes, Padding2d[] pads)
    {
        if (!TryLayout(paddedGrad, out var channelsLast)) return null;
        var g = new Geometry(paddedGrad, groupSizes, pads, padded: true);
        var result = channelsLast
            ? empty([g.N, g.H, g.W, g.C], dtype: paddedGrad.dtype).permute(0, 3, 1, 2)
            : empty([g.N, g.C, g.H, g.W], dtype: paddedGrad.dtype);
        var src = TensorMemory.Address(paddedGrad);
        var dst = TensorMemory.Address(result);
        if (channelsLast) for (long row = 0; row < g.N * g.H; row++) UnpadRowNhwc(g, src, dst, row);
        else for (long plane = 0; plane < g.N * g.C; plane++) UnpadPlaneNchw(g, src, dst, plane);
        return result;
    }

    private static bool TryLayout(Tensor t, out bool channelsLast)
    {
        channelsLast = false;
        if (TensorMemory.IsDense(t, channelsLast: false)) return true;
        channelsLast = TensorMemory.IsDense(t, channelsLast: true);
        return channelsLast;
    }

    /// <summary>Sizes in elements and bytes of one call, and each channel group's offset and shift.</summary>
    private sealed class Geometry
    {
        public readonly long N, C, H, W, Hp, Wp, Es;
        public readonly long[] Start, Count, Top, Left;

        public Geometry(Tensor t, long[] groupSizes, Padding2d[] pads, bool padded)
        {
            long extraH = pads[0].Top + pads[0].Bottom, extraW = pads[0].Left + pads[0].Right;
            N = t.shape[0]; C = t.shape[1];
            H = t.shape[2] - (padded ? extraH : 0); W = t.shape[3] - (padded ? extraW : 0);
            Hp = H + extraH; Wp = W + extraW;
            Es = TensorMemory.ElementSize(t.dtype);
            Start = new long[4]; Count = groupSizes; Top = new long[4]; Left = new long[4];
            for (int g = 0, s = 0; g < 4; s += (int)groupSizes[g], g++)
            {
                Start[g] = s;
                Top[g] = pads[g].Top;
                Left[g] = pads[g].Left;
            }
        }
    }

    // channels_last: one padded row (n, r) of Wp pixels, group by group. A group's part of the row is `Wp` runs of
    // C/4 channels spaced one pixel apart: zeros where its source pixel falls outside the input, copies elsewhere.
    private static void PadRowNhwc(Geometry g, byte* src, byte* dst, long row)
    {
        long n = row / g.Hp, r = row % g.Hp, pixel = g.C * g.Es;
        var dstRow = dst + row * g.Wp * pixel;
        for (var k = 0; k < 4; k++)
        {
            if (g.Count[k] == 0) continue;
            long i = r - g.Top[k], left = g.Left[k], off = g.Start[k] * g.Es, len = g.Count[k] * g.Es;
            var d = dstRow + off;
            if (i < 0 || i >= g.H)
            {
                ZeroRuns(d, g.Wp, pixel, len);
                continue;
            }
            ZeroRuns(d, left, pixel, len);
            MoveRuns(d + left * pixel, src + (n * g.H + i) * g.W * pixel + off, g.W, pixel, len);
            ZeroRuns(d + (left + g.W) * pixel, g.Wp - left - g.W, pixel, len);
        }
    }

    private static void UnpadRowNhwc(Geometry g, byte* src, byte* dst, long row)
    {
        long n = row / g.H, i = row % g.H, pixel = g.C * g.Es;
        var dstRow = dst + row * g.W * pixel;
        for (var k = 0; k < 4; k++)
        {
            if (g.Count[k] == 0) continue;
            long off = g.Start[k] * g.Es, len = g.Count[k] * g.Es;
            MoveRuns(dstRow + off, src + ((n * g.Hp + i + g.Top[k]) * g.Wp + g.Left[k]) * pixel + off, g.W, pixel, len);
        }
    }

    // NCHW: one channel plane; its group fixes the shift, and rows are long contiguous runs.
    private static void PadPlaneNchw(Geometry g, byte* src, byte* dst, long plane)
    {
        long c = plane % g.C, k = GroupOf(g, c), rowBytes = g.W * g.Es, padRowBytes = g.Wp * g.Es;
        long top = g.Top[k], left = g.Left[k] * g.Es;
        var srcPlane = src + plane * g.H * rowBytes;
        var dstPlane = dst + plane * g.Hp * padRowBytes;
        for (long r = 0; r < g.Hp; r++)
        {
            var d = dstPlane + r * padRowBytes;
            long i = r - top;
            if (i < 0 || i >= g.H) { Zero(d, padRowBytes); continue; }
            Zero(d, left);
            Move(d + left, srcPlane + i * rowBytes, rowBytes);
            Zero(d + left + rowBytes, padRowBytes - left - rowBytes);
        }
    }

    private static void UnpadPlaneNchw(Geometry g, byte* src, byte* dst, long plane)
    {
        long c = plane % g.C, k = GroupOf(g, c), rowBytes = g.W * g.Es, padRowBytes = g.Wp * g.Es;
        var srcPlane = src + (plane * g.Hp + g.Top[k]) * padRowBytes + g.Left[k] * g.Es;
        var dstPlane = dst + plane * g.H * rowBytes;
        for (long i = 0; i < g.H; i++) Move(dstPlane + i * rowBytes, srcPlane + i * padRowBytes, rowBytes);
    }

    private static long GroupOf(Geometry g, long channel)
    {
        var k = 3;
        while (k > 0 && (g.Count[k] == 0 || channel < g.Start[k])) k--;
        return k;
    }

    /// <summary>Copies <paramref name="count"/> runs of <paramref name="len"/> bytes spaced <paramref name="stride"/>
    /// bytes apart (the same spacing at source and destination). The common run lengths get a loop of single vector
    /// moves: a run is one channel group of one pixel, 16–128 bytes, so per-run overhead decides the speed.</summary>
    private static void MoveRuns(byte* dst, byte* src, long count, long stride, long len)
    {
        switch (len)
        {
            case 16:
                for (long t = 0; t < count; t++, src += stride, dst += stride) Vector128.Store(Vector128.Load(src), dst);
                return;
            case 32:
                for (long t = 0; t < count; t++, src += stride, dst += stride) Vector256.Store(Vector256.Load(src), dst);
                return;
            case 64:
                for (long t = 0; t < count; t++, src += stride, dst += stride)
                {
                    Vector256.Store(Vector256.Load(src), dst);
                    Vector256.Store(Vector256.Load(src + 32), dst + 32);
                }
                return;
            default:
                for (long t = 0; t < count; t++, src += stride, dst += stride) Move(dst, src, len);
                return;
        }
    }

    private static void ZeroRuns(byte* dst, long count, long stride, long len)
    {
        for (long t = 0; t < count; t++, dst += stride) Zero(dst, len);
    }

    /// <summary>Copies a short run (typically 16–256 bytes) with vector moves; long runs go to memmove.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Move(byte* dst, byte* src, long bytes)
    {
        if (bytes > 256) { Buffer.MemoryCopy(src, dst, bytes, bytes); return; }
        long i = 0;
        for (; i + 32 <= bytes; i += 32) Vector256.Store(Vector256.Load(src + i), dst + i);
        for (; i + 16 <= bytes; i += 16) Vector128.Store(Vector128.Load(src + i), dst + i);
        for (; i + 4 <= bytes; i += 4) *(int*)(dst + i) = *(int*)(src + i);
        for (; i < bytes; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(byte* dst, long bytes)
    {
        if (bytes > 256) { Unsafe.InitBlockUnaligned(dst, 0, (uint)bytes); return; }
        long i = 0;
        for (; i + 32 <= bytes; i += 32) Vector256.Store(Vector256<byte>.Zero, dst + i);
        for (; i + 16 <= bytes; i += 16) Vector128.Store(Vector128<byte>.Zero, dst + i);
        for (; i + 4 <= bytes; i += 4) *(int*)(dst + i) = 0;
        for (; i < bytes; i++) dst[i] = 0;
    }
}
