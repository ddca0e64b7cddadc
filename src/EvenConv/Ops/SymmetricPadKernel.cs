using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EvenConv.Ops.Kernels;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// The memory movement of symmetric padding, written as plain loops over dense CPU tensors. libtorch has no op for
/// "shift each channel group by its own offset": composed from narrow/copy_/cat it runs one strided copy per group
/// whose innermost contiguous run, in channels_last, is only C/4 elements — measured 6–10× slower than a plain copy
/// of the same bytes. These loops write every element of the result exactly once (borders included, so the buffer
/// needs no zero fill) and read every input element once. Large tensors are split over libtorch's own threads
/// (<see cref="LibTorchThreads"/>; .NET threads would compete with its spinning OpenMP workers). Other devices and layouts return null and the caller uses libtorch ops.
/// The loops are compiled fully optimised on first call (<see cref="MethodImplOptions.AggressiveOptimization"/>):
/// under tiered compilation their first-tier code ran 8× slower (10.6 against 1.25 ms at N128 C16 32×32) for the
/// first seconds of a process — the whole of a short benchmark, and the first steps of every training run.
/// </summary>
internal static unsafe class SymmetricPadKernel
{
    /// <summary>The padded copy of <paramref name="x"/>, in x's layout; null when x is not a dense CPU tensor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor? Pad(Tensor x, long[] groupSizes, Padding2d[] pads)
    {
        if (!TryLayout(x, out var channelsLast)) return null;
        var g = new Geometry(x, groupSizes, pads, padded: false);
        var result = TensorLayout.Empty(g.N, g.C, g.Hp, g.Wp, x.dtype, Layout(channelsLast));
        var src = TensorMemory.Address(x);
        var dst = TensorMemory.Address(result);
        if (channelsLast) ForChunks(g, g.N * g.Hp, g.Wp * g.C, (first, end) => { for (var row = first; row < end; row++) PadRowNhwc(g, src, dst, row); });
        else ForChunks(g, g.N * g.C, g.Hp * g.Wp, (first, end) => { for (var plane = first; plane < end; plane++) PadPlaneNchw(g, src, dst, plane); });
        return result;
    }

    /// <summary>The inverse gather: the gradient of the unpadded input from the gradient of the padded tensor
    /// <paramref name="paddedGrad"/>; null when it is not a dense CPU tensor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor? Unpad(Tensor paddedGrad, long[] groupSizes, Padding2d[] pads)
    {
        if (!TryLayout(paddedGrad, out var channelsLast)) return null;
        var g = new Geometry(paddedGrad, groupSizes, pads, padded: true);
        var result = TensorLayout.Empty(g.N, g.C, g.H, g.W, paddedGrad.dtype, Layout(channelsLast));
        var src = TensorMemory.Address(paddedGrad);
        var dst = TensorMemory.Address(result);
        if (channelsLast) ForChunks(g, g.N * g.H, g.W * g.C, (first, end) => { for (var row = first; row < end; row++) UnpadRowNhwc(g, src, dst, row); });
        else ForChunks(g, g.N * g.C, g.H * g.W, (first, end) => { for (var plane = first; plane < end; plane++) UnpadPlaneNchw(g, src, dst, plane); });
        return result;
    }

    /// <summary>Runs <paramref name="body"/> over [0, <paramref name="items"/>) in chunks of at least 64 KiB of output
    /// (<paramref name="elementsPerItem"/> elements an item), on libtorch's threads.</summary>
    private static void ForChunks(Geometry g, long items, long elementsPerItem, Action<long, long> body) =>
        LibTorchThreads.ForRanges(items, LibTorchThreads.Chunks(items, (1 << 16) / Math.Max(1, elementsPerItem * g.Es)), (_, first, end) => body(first, end));

    private static MemoryLayout Layout(bool channelsLast) => channelsLast ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw;

    private static bool TryLayout(Tensor t, out bool channelsLast)
    {
        channelsLast = false;
        if (TensorMemory.IsDense(t, channelsLast: false)) return true;
        channelsLast = TensorMemory.IsDense(t, channelsLast: true);
        return channelsLast;
    }

    /// <summary>Sizes in elements and bytes of one call, and each channel group's offset and shift.</summary>
    internal sealed class Geometry
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadRowNhwc(Geometry g, byte* src, byte* dst, long row) =>
        PadRow(g, src, dst + row * g.Wp * g.C * g.Es, row / g.Hp, row % g.Hp);

    /// <summary>channels_last: writes padded row <paramref name="r"/> of image <paramref name="n"/> (Wp pixels) to
    /// <paramref name="dstRow"/>. Inside the columns where every group has a source pixel, each destination pixel is
    /// assembled from four C/4-channel runs in one go (its cache line is written once); border columns and border rows
    /// go group by group, with zeros where a group's source falls outside the input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadRow(Geometry g, byte* src, byte* dstRow, long n, long r)
    {
        long pixel = g.C * g.Es;
        var from = stackalloc byte*[4];   // from[k] + jj * pixel: group k's source for padded column jj
        bool allRows = true;
        long lo = 0, hi = g.Wp;
        for (var k = 0; k < 4; k++)
        {
            long i = r - g.Top[k];
            if (i < 0 || i >= g.H) { from[k] = null; allRows &= g.Count[k] == 0; continue; }
            from[k] = src + ((n * g.H + i) * g.W - g.Left[k]) * pixel + g.Start[k] * g.Es;
            if (g.Count[k] == 0) continue;
            lo = Math.Max(lo, g.Left[k]);
            hi = Math.Min(hi, g.Left[k] + g.W);
        }
        if (!allRows || lo >= hi)
        {
            PadBorderRow(g, from, dstRow, pixel);
            return;
        }
        PadColumns(g, from, dstRow, 0, lo, pixel);
        Gather(g, from, dstRow + lo * pixel, lo, hi - lo, pixel);
        PadColumns(g, from, dstRow, hi, g.Wp, pixel);
    }

    /// <summary>A padded row in which some group has no source row (a top or bottom border row): zero it whole, then
    /// copy each present group's W pixels with one strided run loop (group by group and column by column, as
    /// <see cref="PadColumns"/> goes, it cost 4× the time of an inner row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadBorderRow(Geometry g, byte** from, byte* dstRow, long pixel)
    {
        Zero(dstRow, g.Wp * pixel);
        for (var k = 0; k < 4; k++)
        {
            if (from[k] == null || g.Count[k] == 0) continue;
            long off = g.Start[k] * g.Es;
            MoveRuns(dstRow + g.Left[k] * pixel + off, from[k] + g.Left[k] * pixel, g.W, pixel, g.Count[k] * g.Es);
        }
    }

    /// <summary>Padded columns [<paramref name="a"/>, <paramref name="b"/>) of one row, group by group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadColumns(Geometry g, byte** from, byte* dstRow, long a, long b, long pixel)
    {
        for (var k = 0; k < 4; k++)
        {
            if (g.Count[k] == 0) continue;
            long off = g.Start[k] * g.Es, len = g.Count[k] * g.Es;
            for (long jj = a; jj < b; jj++)
            {
                long j = jj - g.Left[k];
                var d = dstRow + jj * pixel + off;
                if (from[k] == null || j < 0 || j >= g.W) Zero(d, len);
                else Move(d, from[k] + jj * pixel, len);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnpadRowNhwc(Geometry g, byte* src, byte* dst, long row)
    {
        long n = row / g.H, i = row % g.H, pixel = g.C * g.Es;
        var from = stackalloc byte*[4];   // from[k] + j * pixel: group k's run of output pixel j in the padded gradient
        for (var k = 0; k < 4; k++)
            from[k] = src + ((n * g.Hp + i + g.Top[k]) * g.Wp + g.Left[k]) * pixel + g.Start[k] * g.Es;
        Gather(g, from, dst + row * g.W * pixel, 0, g.W, pixel);
    }

    /// <summary>Writes <paramref name="count"/> consecutive pixels starting at <paramref name="dst"/>; pixel t takes
    /// group k's run from <c>from[k] + (first + t) · pixel</c>. With four equal groups of 16, 32 or 64 bytes (float32
    /// C = 16, 32, 64: the CIFAR widths) the runs are straight-line vector moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gather(Geometry g, byte** from, byte* dst, long first, long count, long pixel)
    {
        var len = g.Count[0] * g.Es;
        var equal = g.Count[1] == g.Count[0] && g.Count[2] == g.Count[0] && g.Count[3] == g.Count[0];
        byte* s0 = from[0] + first * pixel, s1 = from[1] + first * pixel, s2 = from[2] + first * pixel, s3 = from[3] + first * pixel;
        if (equal && len == 16)
        {
            for (long t = 0; t < count; t++, dst += pixel, s0 += pixel, s1 += pixel, s2 += pixel, s3 += pixel)
            {
                Vector128.Store(Vector128.Load(s0), dst);
                Vector128.Store(Vector128.Load(s1), dst + 16);
                Vector128.Store(Vector128.Load(s2), dst + 32);
                Vector128.Store(Vector128.Load(s3), dst + 48);
            }
            return;
        }
        if (equal && len == 32)
        {
            for (long t = 0; t < count; t++, dst += pixel, s0 += pixel, s1 += pixel, s2 += pixel, s3 += pixel)
            {
                Vector256.Store(Vector256.Load(s0), dst);
                Vector256.Store(Vector256.Load(s1), dst + 32);
                Vector256.Store(Vector256.Load(s2), dst + 64);
                Vector256.Store(Vector256.Load(s3), dst + 96);
            }
            return;
        }
        if (equal && len == 64)
        {
            for (long t = 0; t < count; t++, dst += pixel, s0 += pixel, s1 += pixel, s2 += pixel, s3 += pixel)
            {
                Vector256.Store(Vector256.Load(s0), dst);
                Vector256.Store(Vector256.Load(s0 + 32), dst + 32);
                Vector256.Store(Vector256.Load(s1), dst + 64);
                Vector256.Store(Vector256.Load(s1 + 32), dst + 96);
                Vector256.Store(Vector256.Load(s2), dst + 128);
                Vector256.Store(Vector256.Load(s2 + 32), dst + 160);
                Vector256.Store(Vector256.Load(s3), dst + 192);
                Vector256.Store(Vector256.Load(s3 + 32), dst + 224);
            }
            return;
        }
        for (var k = 0; k < 4; k++)
        {
            if (g.Count[k] == 0) continue;
            long off = g.Start[k] * g.Es;
            MoveRuns(dst + off, from[k] + first * pixel, count, pixel, g.Count[k] * g.Es);
        }
    }

    // NCHW: one channel plane; its group fixes the shift, and rows are long contiguous runs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
