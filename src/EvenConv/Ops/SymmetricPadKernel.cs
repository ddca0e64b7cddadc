using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// The memory movement of symmetric padding, written as plain loops over dense CPU tensors. libtorch has no op for
/// "shift each channel group by its own offset": composed from narrow/copy_/cat it runs one strided copy per group
/// whose innermost contiguous run, in channels_last, is only C/4 elements — measured 6–10× slower than a plain copy
/// of the same bytes. These loops write every element of the result exactly once (borders included, so the buffer
/// needs no zero fill) and read every input element once. Other devices and layouts return null and the caller
/// uses libtorch ops.
/// </summary>
internal static unsafe class SymmetricPadKernel
{
    /// <summary>Work below this many bytes runs on the calling thread; above it, split across torch's intra-op threads.</summary>
    private static long parallelBytes = 1 << 18;

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
        if (channelsLast) Run(g.N * g.Hp, g.Bytes, row => PadRowNhwc(g, src, dst, row));
        else Run(g.N * g.C, g.Bytes, plane => PadPlaneNchw(g, src, dst, plane));
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
        if (channelsLast) Run(g.N * g.H, g.Bytes, row => UnpadRowNhwc(g, src, dst, row));
        else Run(g.N * g.C, g.Bytes, plane => UnpadPlaneNchw(g, src, dst, plane));
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
        public readonly long N, C, H, W, Hp, Wp, Es, Bytes;
        public readonly long[] Start, Count, Top, Left;

        public Geometry(Tensor t, long[] groupSizes, Padding2d[] pads, bool padded)
        {
            long extraH = pads[0].Top + pads[0].Bottom, extraW = pads[0].Left + pads[0].Right;
            N = t.shape[0]; C = t.shape[1];
            H = t.shape[2] - (padded ? extraH : 0); W = t.shape[3] - (padded ? extraW : 0);
            Hp = H + extraH; Wp = W + extraW;
            Es = TensorMemory.ElementSize(t.dtype);
            Bytes = N * C * Hp * Wp * Es;
            Start = new long[4]; Count = groupSizes; Top = new long[4]; Left = new long[4];
            for (int g = 0, s = 0; g < 4; s += (int)groupSizes[g], g++)
            {
                Start[g] = s;
                Top[g] = pads[g].Top;
                Left[g] = pads[g].Left;
            }
        }
    }

    private static void Run(long items, long bytes, Action<long> body)
    {
        var threads = bytes < parallelBytes ? 1 : Math.Min(TorchSharp.torch.get_num_threads(), (int)Math.Min(items, int.MaxValue));
        if (threads <= 1)
        {
            for (long i = 0; i < items; i++) body(i);
            return;
        }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            long from = items * part / threads, to = items * (part + 1) / threads;
            for (long i = from; i < to; i++) body(i);
        });
    }

    // channels_last: one padded row (n, r) of Wp pixels. Each pixel takes a C/4-channel run from each group's source
    // pixel (or zeros); pixel by pixel so the writes stream through memory.
    private static void PadRowNhwc(Geometry g, byte* src, byte* dst, long row)
    {
        long n = row / g.Hp, r = row % g.Hp, pixel = g.C * g.Es;
        var dstRow = dst + row * g.Wp * pixel;
        // Per group: the source row shifted so that padded column jj reads srcRow[k] + jj * pixel, or null (border row).
        var srcRow = stackalloc byte*[4];
        var off = stackalloc long[4];
        var len = stackalloc long[4];
        for (var k = 0; k < 4; k++)
        {
            long i = r - g.Top[k];
            off[k] = g.Start[k] * g.Es;
            len[k] = g.Count[k] * g.Es;
            srcRow[k] = i < 0 || i >= g.H ? null : src + ((n * g.H + i) * g.W - g.Left[k]) * pixel;
        }
        for (long jj = 0; jj < g.Wp; jj++)
        {
            var d = dstRow + jj * pixel;
            for (var k = 0; k < 4; k++)
            {
                long j = jj - g.Left[k];
                if (srcRow[k] == null || j < 0 || j >= g.W) Zero(d + off[k], len[k]);
                else Move(d + off[k], srcRow[k] + jj * pixel + off[k], len[k]);
            }
        }
    }

    private static void UnpadRowNhwc(Geometry g, byte* src, byte* dst, long row)
    {
        long n = row / g.H, i = row % g.H, pixel = g.C * g.Es;
        var dstRow = dst + row * g.W * pixel;
        var srcRow = stackalloc byte*[4];
        var off = stackalloc long[4];
        var len = stackalloc long[4];
        for (var k = 0; k < 4; k++)
        {
            off[k] = g.Start[k] * g.Es;
            len[k] = g.Count[k] * g.Es;
            srcRow[k] = src + ((n * g.Hp + i + g.Top[k]) * g.Wp + g.Left[k]) * pixel + off[k];
        }
        for (long j = 0; j < g.W; j++)
        {
            var d = dstRow + j * pixel;
            for (var k = 0; k < 4; k++) Move(d + off[k], srcRow[k] + j * pixel, len[k]);
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
