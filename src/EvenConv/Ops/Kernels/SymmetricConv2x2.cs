using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// C2sp on the CPU without a padded tensor: forward, input gradient and weight gradient of a 2×2 convolution
/// over symmetrically padded channels_last float32 maps, with the padding done one row at a time into a buffer that
/// stays in L1 cache. The plain route — pad into a new tensor, convolve with oneDNN, remake the padded tensor in
/// backward, gather the input gradient out of the padded gradient — makes three extra passes over main memory per
/// layer, which at the CIFAR shapes cost about as much as the 2×2 convolution itself; these kernels make none and run
/// their inner loops at 3/4 of the FMA peak (<see cref="ConvTiles"/>). Equal to
/// <c>conv2d(SymmetricPad.Apply(x, 2), w, b)</c> up to float rounding; <see cref="Supports"/> says when they apply
/// (AVX-512, stride 1 or 2, no dilation or groups, 16–64 channels: the CIFAR widths); otherwise callers take the plain
/// route.
/// </summary>
internal static unsafe class SymmetricConv2x2
{
    /// <summary>Off switch for tests that compare the two routes, and for measurements.</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>Channel counts (in and out) the kernels take. Up to 64 channels a layer moves many bytes per FLOP, so the
    /// padding passes they save cost as much as the convolution, and their inner loops keep up with oneDNN's. From 128
    /// channels on, oneDNN's 2×2 kernels run at up to 230 GFLOP/s here against their 120–150 and the padding is a small
    /// share of the work (measured at N32 C128/C256 14×14: the plain route 1.6× faster), so wide layers take the plain
    /// route.</summary>
    private static readonly int[] ChannelCounts = [16, 32, 48, 64];

    /// <summary>True when the fused kernels compute this call.</summary>
    public static bool Supports(Tensor input, Tensor weight, int stride, int dilation, int groups) =>
        Enabled && Vector512.IsHardwareAccelerated && Avx512F.IsSupported &&
        stride is 1 or 2 && dilation == 1 && groups == 1 && weight.shape[2] == 2 && weight.shape[3] == 2 &&
        input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32 &&
        weight.device_type == TorchSharp.DeviceType.CPU && TensorMemory.IsDense(input, channelsLast: true) &&
        ChannelCounts.Contains((int)input.shape[1]) && ChannelCounts.Contains((int)weight.shape[0]);

    /// <summary>The output size of a 2×2 convolution with this stride over the padded size <paramref name="padded"/>.</summary>
    private static long OutputSize(long padded, int stride) => (padded - 2) / stride + 1;

    /// <summary>The convolution with stride 1 or 2: (N, C_out, H_out, W_out) in channels_last.</summary>
    public static Tensor Forward(Tensor input, Tensor weight, Tensor? bias, SymmetricPad.Plan plan, int stride)
    {
        var g = new SymmetricPadKernel.Geometry(input, plan.GroupSizes, plan.Pads, padded: false);
        long lanes = weight.shape[0], ho = OutputSize(g.Hp, stride), wo = OutputSize(g.Wp, stride);
        var output = TensorLayout.Empty(g.N, lanes, ho, wo, ScalarType.Float32, MemoryLayout.ChannelsLast);
        using var packed = PackedWeight.ForForward(weight);
        using var biasVector = bias?.to_type(ScalarType.Float32).contiguous();
        var x = TensorMemory.Address(input);
        var y = (float*)TensorMemory.Address(output);
        var w = packed.Data;
        var b = biasVector is null ? null : (float*)TensorMemory.Address(biasVector);
        ForRowChunks(g.N * ho, (_, first, end) =>
        {
            using var rows = new PaddedRows(g);
            for (var row = first; row < end; row++)
            {
                long n = row / ho, h = row % ho;
                ConvRow((int)g.C, stride, rows.Get(x, n, stride * h), rows.Get(x, n, stride * h + 1), 0, 1, w, lanes, b,
                    y + row * wo * lanes, (int)wo);
            }
        });
        return output;
    }

    /// <summary>The gradients of the input and the weight (each null where not asked for) for the upstream gradient
    /// <paramref name="gradOutput"/>; the weight gradient is shaped and laid out like <paramref name="weight"/>.</summary>
    public static (Tensor? Input, Tensor? Weight) Backward(Tensor gradOutput, Tensor input, Tensor weight, SymmetricPad.Plan plan,
        int stride, bool needInput, bool needWeight)
    {
        var g = new SymmetricPadKernel.Geometry(input, plan.GroupSizes, plan.Pads, padded: false);
        var gy = TensorLayout.To(gradOutput, MemoryLayout.ChannelsLast);
        try
        {
            var gyData = (float*)TensorMemory.Address(gy);
            return (needInput ? InputGradient(g, gyData, weight, stride) : null,
                needWeight ? WeightGradient(g, gyData, input, weight, stride) : null);
        }
        finally
        {
            if (!ReferenceEquals(gy, gradOutput)) gy.Dispose();
        }
    }

    private static Tensor InputGradient(SymmetricPadKernel.Geometry g, float* gy, Tensor weight, int stride)
    {
        long k = weight.shape[0], lanes = g.C, ho = OutputSize(g.Hp, stride), wo = OutputSize(g.Wp, stride);
        var result = TensorLayout.Empty(g.N, g.C, g.H, g.W, ScalarType.Float32, MemoryLayout.ChannelsLast);
        using var packed = PackedWeight.ForInputGradient(weight);
        var gx = TensorMemory.Address(result);
        var w = packed.Data;
        ForRowChunks(g.N * g.H, (_, first, end) =>
        {
            // Input row i gathers each channel group from row i + top (of that group) of the padded input's gradient,
            // which is made row by row into a ring of two buffers.
            using var upstream = new ExtendedRows(gy, ho, wo, k);
            var paddedGrad = (float*)NativeMemory.AlignedAlloc((nuint)(2 * g.Wp * lanes * sizeof(float)), 64);
            var from = stackalloc byte*[4];
            try
            {
                long haveN = -1, haveQ = -1;   // the padded-gradient row held in slot haveQ & 1
                for (var row = first; row < end; row++)
                {
                    long n = row / g.H, i = row % g.H;
                    for (var q = n == haveN && haveQ == i ? i + 1 : i; q <= i + 1; q++)
                    {
                        var dst = paddedGrad + (q & 1) * g.Wp * lanes;
                        if (stride == 1)
                            ConvRow((int)k, 1, upstream.Get(n, q), upstream.Get(n, q - 1), 1, 0, w, lanes, null, dst, (int)g.Wp);
                        else
                            StridedTransposedRow(upstream, n, q, ho, wo, g.Wp, k, lanes, w, dst);
                    }
                    (haveN, haveQ) = (n, i + 1);
                    for (var c = 0; c < 4; c++)
                        from[c] = (byte*)(paddedGrad + ((i + g.Top[c]) & 1) * g.Wp * lanes + g.Left[c] * lanes + g.Start[c]);
                    SymmetricPadKernel.Gather(g, from, gx + row * g.W * lanes * sizeof(float), 0, g.W, lanes * sizeof(float));
                }
            }
            finally { NativeMemory.AlignedFree(paddedGrad); }
        });
        return result;
    }

    /// <summary>Row <paramref name="q"/> of the padded input's gradient for stride 2. The 2×2 windows do not overlap, so
    /// each padded pixel gets exactly one tap: (q mod 2, column mod 2) of upstream pixel (q / 2, column / 2); the last
    /// row and column of an even-sized map lie in no window and get zero.</summary>
    private static void StridedTransposedRow(ExtendedRows upstream, long n, long q, long ho, long wo, long wp, long k, long lanes,
        float* w, float* dst)
    {
        var covered = 2 * wo * lanes;
        if (q >= 2 * ho) { NativeMemory.Clear(dst, (nuint)(wp * lanes * sizeof(float))); return; }
        var src = upstream.Get(n, q / 2) + k;   // skip the zero pixel in front
        for (var tx = 0; tx < 2; tx++)
            TapRow((int)k, src, w + (2 * (q & 1) + tx) * k * lanes, lanes, dst + tx * lanes, 2 * lanes, (int)wo);
        if (wp * lanes > covered) NativeMemory.Clear(dst + covered, (nuint)((wp * lanes - covered) * sizeof(float)));
    }

    private static Tensor WeightGradient(SymmetricPadKernel.Geometry g, float* gy, Tensor input, Tensor weight, int stride)
    {
        long lanes = weight.shape[0], channels = g.C, ho = OutputSize(g.Hp, stride), wo = OutputSize(g.Wp, stride);
        var x = TensorMemory.Address(input);
        // One [4][C_in][C_out] accumulator per chunk, summed in chunk order so that results are reproducible.
        var sums = new IntPtr[ChunkCount(g.N * ho)];
        ForRowChunks(g.N * ho, (chunk, first, end) =>
        {
            var size = (nuint)(4 * channels * lanes * sizeof(float));
            var acc = (float*)NativeMemory.AlignedAlloc(size, 64);
            NativeMemory.Clear(acc, size);
            // Bands of output rows (about 256 pixels, within one image) keep each accumulator tile in registers long
            // enough that loading and storing it is noise; the band's padded input rows sit in one buffer.
            var bandRows = (int)Math.Clamp((256 + wo - 1) / wo, 1, ho);
            var rowFloats = g.Wp * channels;
            var band = (float*)NativeMemory.AlignedAlloc((nuint)((stride * (bandRows - 1) + 2) * rowFloats * sizeof(float)), 64);
            try
            {
                for (var row = first; row < end;)
                {
                    long n = row / ho, h = row % ho;
                    var rows = (int)Math.Min(Math.Min(bandRows, ho - h), end - row);
                    for (var r = 0; r < stride * (rows - 1) + 2; r++)
                        SymmetricPadKernel.PadRow(g, x, (byte*)(band + r * rowFloats), n, stride * h + r);
                    var gyBand = gy + row * wo * lanes;
                    for (var t = 0; t < 4; t++)
                    {
                        var src = band + (t >> 1) * rowFloats + (t & 1) * channels;
                        for (long c = 0; c < channels; c += 16)
                            for (long lb = 0; lb < lanes; lb += 16)
                                ConvTiles.WeightTile(src + c, stride * channels, stride * rowFloats, gyBand + lb, lanes, wo * lanes,
                                    (int)wo, rows, acc + (t * channels + c) * lanes + lb);
                    }
                    row += rows;
                }
            }
            finally { NativeMemory.AlignedFree(band); }
            sums[chunk] = (IntPtr)acc;
        });
        try { return PackedWeight.Unpack(sums, weight); }
        finally { foreach (var p in sums) NativeMemory.AlignedFree((void*)p); }
    }

    private static void ConvRow(int k, int stride, float* row0, float* row1, int col0, int col1, float* w, long lanes, float* bias,
        float* output, int pixels)
    {
        switch (k, stride)
        {
            case (16, 1): ConvTiles.ConvRow<C16, C1>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            case (32, 1): ConvTiles.ConvRow<C32, C1>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            case (48, 1): ConvTiles.ConvRow<C48, C1>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            case (64, 1): ConvTiles.ConvRow<C64, C1>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            case (16, 2): ConvTiles.ConvRow<C16, C2>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            case (32, 2): ConvTiles.ConvRow<C32, C2>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            case (48, 2): ConvTiles.ConvRow<C48, C2>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            case (64, 2): ConvTiles.ConvRow<C64, C2>(row0, row1, col0, col1, w, lanes, bias, output, pixels); break;
            default: throw new ArgumentOutOfRangeException(nameof(k), k, "No row kernel for this channel count and stride (see Supports).");
        }
    }

    private static void TapRow(int k, float* src, float* w, long lanes, float* output, long outStride, int pixels)
    {
        switch (k)
        {
            case 16: ConvTiles.TapRow<C16>(src, w, lanes, output, outStride, pixels); break;
            case 32: ConvTiles.TapRow<C32>(src, w, lanes, output, outStride, pixels); break;
            case 48: ConvTiles.TapRow<C48>(src, w, lanes, output, outStride, pixels); break;
            case 64: ConvTiles.TapRow<C64>(src, w, lanes, output, outStride, pixels); break;
            default: throw new ArgumentOutOfRangeException(nameof(k), k, "No row kernel for this channel count (see Supports).");
        }
    }

    /// <summary>Runs <paramref name="body"/>(chunk, first, end) on <see cref="ChunkCount"/> contiguous chunks of
    /// [0, rows), on libtorch's threads. The chunks are large, so the few rows recomputed at their edges cost nothing.</summary>
    private static void ForRowChunks(long rows, Action<int, long, long> body) => LibTorchThreads.ForRanges(rows, ChunkCount(rows), body);

    private static int ChunkCount(long rows) => LibTorchThreads.Chunks(rows, 4);

    /// <summary>The two most recent padded rows of an input, in a ring of two row buffers: a row is padded once and
    /// then serves as the lower row of one output row and the upper row of the next.</summary>
    private sealed class PaddedRows : IDisposable
    {
        private readonly SymmetricPadKernel.Geometry g;
        private readonly float* buffer;
        private readonly long rowFloats;
        private readonly long[] held = [-1, -1];   // n · Hp + r of the row in each slot

        public PaddedRows(SymmetricPadKernel.Geometry geometry)
        {
            g = geometry;
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
                SymmetricPadKernel.PadRow(g, x, (byte*)dst, n, r);
                held[slot] = n * g.Hp + r;
            }
            return dst;
        }

        public void Dispose() => NativeMemory.AlignedFree(buffer);
    }

    /// <summary>Upstream-gradient rows with one zero pixel on each side, so that the transposed convolution of the
    /// padded border needs no edge cases; rows outside the map read as zeros.</summary>
    private sealed class ExtendedRows : IDisposable
    {
        private readonly float* gy, buffer, zeros;
        private readonly long h, w, k, rowFloats;
        private readonly long[] held = [-1, -1];

        public ExtendedRows(float* gradOutput, long height, long width, long channels)
        {
            gy = gradOutput;
            (h, w, k) = (height, width, channels);
            rowFloats = (w + 2) * k;
            var bytes = (nuint)(3 * rowFloats * sizeof(float));
            buffer = (float*)NativeMemory.AlignedAlloc(bytes, 64);
            NativeMemory.Clear(buffer, bytes);   // border pixels stay zero; interiors are overwritten
            zeros = buffer + 2 * rowFloats;
        }

        public float* Get(long n, long row)
        {
            if (row < 0 || row >= h) return zeros;
            var slot = row & 1;
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
}
