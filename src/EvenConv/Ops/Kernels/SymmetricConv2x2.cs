using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// C2sp on the CPU without a padded tensor: forward, input gradient and weight gradient of a 2×2 convolution
/// over symmetrically padded channels_last float32 maps. The forward and the weight gradient never pad: each channel
/// group reads the input at its own row and column, from rows copied with a zero pixel on each side
/// (<see cref="ExtendedRows"/>); the input gradient is made row by row in L1 cache. The plain route — pad into a new
/// tensor, convolve with oneDNN, remake the padded tensor in backward, gather the input gradient out of the padded
/// gradient — makes three extra passes over main memory per layer, which at the CIFAR shapes cost about as much as the
/// 2×2 convolution itself; these kernels make none and run their inner loops near the FMA peak (<see cref="ConvTiles"/>). Equal to
/// <c>conv2d(SymmetricPad.Apply(x, 2), w, b)</c> up to float rounding; <see cref="Supports"/> says when they apply
/// (AVX-512 or AVX2 with FMA, stride 1 or 2, no dilation or groups, 16–64 channels: the CIFAR widths); otherwise
/// callers take the plain route.
/// </summary>
internal static unsafe class SymmetricConv2x2
{
    private static readonly ThreadSwitch PlainRoute = new();

    /// <summary>Sends this thread's C2sp layers down the plain route until the result is disposed: for the benchmark's
    /// side-by-side comparison and for tests.</summary>
    internal static IDisposable UsePlainRoute() => PlainRoute.TurnOn();

    /// <summary>Channel counts (in and out) the kernels take. Up to 64 channels a layer moves many bytes per FLOP, so the
    /// padding passes they save cost as much as the convolution, and their inner loops keep up with oneDNN's. From 128
    /// channels on, oneDNN's 2×2 kernels run at up to 230 GFLOP/s here against their 120–150 and the padding is a small
    /// share of the work (measured at N32 C128/C256 14×14: the plain route 1.6× faster), so wide layers take the plain
    /// route.</summary>
    private static readonly int[] ChannelCounts = [16, 32, 48, 64];

    /// <summary>True where the CPU and runtime give the kernels their vector instructions: AVX-512, or AVX2 with FMA
    /// (<see cref="Simd"/>).</summary>
    public static bool HardwareSupported => Simd.Available;

    /// <summary>True when the fused kernels compute this call.</summary>
    public static bool Supports(Tensor input, Tensor weight, int stride, int dilation, int groups) =>
        !PlainRoute.IsOn && HardwareSupported &&
        stride is 1 or 2 && dilation == 1 && groups == 1 && weight.shape[2] == 2 && weight.shape[3] == 2 &&
        input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32 &&
        weight.device_type == TorchSharp.DeviceType.CPU && TensorMemory.IsDense(input, channelsLast: true) &&
        ChannelCounts.Contains((int)input.shape[1]) && ChannelCounts.Contains((int)weight.shape[0]);

    /// <summary>The output size of a 2×2 convolution with this stride over the padded size <paramref name="padded"/>.</summary>
    internal static long OutputSize(long padded, int stride) => (padded - 2) / stride + 1;

    /// <summary>The convolution with stride 1 or 2: (N, C_out, H_out, W_out) in channels_last; of
    /// <paramref name="preActivation"/>(input) where given.</summary>
    public static Tensor Forward(Tensor input, Tensor weight, Tensor? bias, SymmetricPad.Plan plan, int stride, PreActivation? preActivation = null)
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
            // Output row h reads input rows S·h − 1, S·h and S·h + 1: each channel group its own two of them.
            using var rows = new ExtendedRows((float*)x, g.H, g.W, g.C, slots: 3, preActivation);
            var groups = stackalloc float*[8];
            for (var row = first; row < end; row++)
            {
                long n = row / ho, h = row % ho;
                GroupRows(g, rows, n, stride * h, groups);
                ConvRowGroups((int)g.C, stride, groups, w, lanes, lanes, b, y + row * wo * lanes, (int)wo);
            }
        });
        return output;
    }

    /// <summary>The gradients of the input and the weight (each null where not asked for) for the upstream gradient
    /// <paramref name="gradOutput"/>; the weight gradient is shaped and laid out like <paramref name="weight"/>. At
    /// stride 1 both are made in one pass over the rows, band by band, so the upstream gradient comes from main memory
    /// once. With <paramref name="preActivation"/> the convolution's input is <c>preActivation(input)</c>: the input
    /// gradient returned is the activation's, already masked by the clamp, and <paramref name="normSums"/> (2 · C_in)
    /// receives its per-channel sums Σ g and Σ g · x (<see cref="PreActivation.MaskGradientRow"/>).</summary>
    public static (Tensor? Input, Tensor? Weight) Backward(Tensor gradOutput, Tensor input, Tensor weight, SymmetricPad.Plan plan,
        int stride, bool needInput, bool needWeight, PreActivation? preActivation = null, double[]? normSums = null)
    {
        if (preActivation is not null && (!needInput || normSums?.Length != 2 * input.shape[1]))
            throw new ArgumentException("A pre-activation backward makes the input gradient and needs 2 · C_in sums.", nameof(normSums));
        var g = new SymmetricPadKernel.Geometry(input, plan.GroupSizes, plan.Pads, padded: false);
        long ho = OutputSize(g.Hp, stride), wo = OutputSize(g.Wp, stride), lanes = weight.shape[0];
        var gy = TensorLayout.To(gradOutput, MemoryLayout.ChannelsLast);
        var gradInput = needInput ? TensorLayout.Empty(g.N, g.C, g.H, g.W, ScalarType.Float32, MemoryLayout.ChannelsLast) : null;
        using var inputWeight = needInput ? PackedWeight.ForInputGradient(weight) : null;
        var x = TensorMemory.Address(input);
        var gyData = (float*)TensorMemory.Address(gy);
        var gx = gradInput is null ? null : (float*)TensorMemory.Address(gradInput);
        var sums = new IntPtr[needWeight ? ChunkCount(g.N * ho) : 0];   // weight-gradient sums per chunk
        var together = needWeight && needInput && stride == 1;
        var normChunks = preActivation is null ? 0 : ChunkCount(together ? g.N * ho : g.N * g.H);
        var normPartials = new double[normChunks * 2 * g.C];   // pre-activation sums per chunk, added in chunk order
        try
        {
            fixed (double* partials = normPartials)
            {
                var partialsAt = (IntPtr)partials;
                InputGradientRows NewInputRows(int chunk) => new(g, gyData, ho, wo, lanes, inputWeight!.Data, stride, gx,
                    preActivation, (float*)x, preActivation is null ? null : (double*)partialsAt + chunk * 2 * g.C);
                WeightGradientBands NewWeightBands(int chunk) => new(g, preActivation, x, gyData, ho, wo, lanes, stride, sums, chunk);
                if (together)
                    ForRowChunks(g.N * ho, (chunk, first, end) =>
                    {
                        using var inputRows = NewInputRows(chunk);
                        using var weightBands = NewWeightBands(chunk);
                        weightBands.Run(first, end, (bandFirst, bandEnd) => inputRows.Run(bandFirst, bandEnd));
                    });
                else
                {
                    if (needInput)
                        ForRowChunks(g.N * g.H, (chunk, first, end) => { using var rows = NewInputRows(chunk); rows.Run(first, end); });
                    if (needWeight)
                        ForRowChunks(g.N * ho, (chunk, first, end) => { using var bands = NewWeightBands(chunk); bands.Run(first, end, null); });
                }
            }
            if (normSums is not null)
            {
                Array.Clear(normSums);
                for (var chunk = 0; chunk < normChunks; chunk++)
                    for (var i = 0; i < normSums.Length; i++) normSums[i] += normPartials[chunk * normSums.Length + i];
            }
            return (gradInput, needWeight ? PackedWeight.Unpack(sums, weight) : null);
        }
        finally
        {
            foreach (var p in sums) NativeMemory.AlignedFree((void*)p);
            if (!ReferenceEquals(gy, gradOutput)) gy.Dispose();
        }
    }

    /// <summary>Where each channel group of padded rows <paramref name="r"/> and r + 1 lies in extended input rows:
    /// <c>groups[4·ty + c]</c> is group c of padded row r + ty at padded column 0 (<see cref="ConvRowGroups(int,int,float**,float*,long,long,float*,float*,int)"/>).
    /// Group c of padded pixel (r, j) is input pixel (r − top_c, j − left_c), one pixel further in the extended row.</summary>
    internal static void GroupRows(SymmetricPadKernel.Geometry g, ExtendedRows rows, long n, long r, float** groups)
    {
        float* above = rows.Get(n, r - 1), at = rows.Get(n, r), below = rows.Get(n, r + 1);   // tops are 0 or 1
        for (var ty = 0; ty < 2; ty++)
            for (var c = 0; c < 4; c++)
            {
                var shift = ty - g.Top[c];
                groups[4 * ty + c] = (shift < 0 ? above : shift == 0 ? at : below) + (1 - g.Left[c]) * g.C + g.Start[c];
            }
    }

    /// <summary>One output row (<see cref="ConvTiles.ConvRowGroups{TI,TV,TK,TS}"/>) at stride 1 or 2, for the first
    /// <paramref name="laneCount"/> of <paramref name="lanes"/> output channels, with each quarter of the input channels
    /// (each channel group) read from its own place: <c>groups[4·ty + q]</c>.</summary>
    internal static void ConvRowGroups(int k, int stride, float** groups, float* w, long lanes, long laneCount, float* bias, float* output,
        int pixels)
    {
        if (Simd.Wide) ConvRowGroups<Simd512, Vector512<float>>(k, stride, groups, w, lanes, laneCount, bias, output, pixels);
        else ConvRowGroups<Simd256, Vector256<float>>(k, stride, groups, w, lanes, laneCount, bias, output, pixels);
    }

    internal static void ConvRowGroups<TI, TV>(int k, int stride, float** groups, float* w, long lanes, long laneCount, float* bias,
        float* output, int pixels) where TI : struct, ISimd<TV> where TV : struct
    {
        switch (k, stride)
        {
            case (16, 1): ConvTiles.ConvRowGroups<TI, TV, C16, C1>(groups, w, lanes, laneCount, bias, output, pixels); break;
            case (32, 1): ConvTiles.ConvRowGroups<TI, TV, C32, C1>(groups, w, lanes, laneCount, bias, output, pixels); break;
            case (48, 1): ConvTiles.ConvRowGroups<TI, TV, C48, C1>(groups, w, lanes, laneCount, bias, output, pixels); break;
            case (64, 1): ConvTiles.ConvRowGroups<TI, TV, C64, C1>(groups, w, lanes, laneCount, bias, output, pixels); break;
            case (16, 2): ConvTiles.ConvRowGroups<TI, TV, C16, C2>(groups, w, lanes, laneCount, bias, output, pixels); break;
            case (32, 2): ConvTiles.ConvRowGroups<TI, TV, C32, C2>(groups, w, lanes, laneCount, bias, output, pixels); break;
            case (48, 2): ConvTiles.ConvRowGroups<TI, TV, C48, C2>(groups, w, lanes, laneCount, bias, output, pixels); break;
            case (64, 2): ConvTiles.ConvRowGroups<TI, TV, C64, C2>(groups, w, lanes, laneCount, bias, output, pixels); break;
            default: throw new ArgumentOutOfRangeException(nameof(k), k, "No row kernel for this channel count and stride (see Supports).");
        }
    }

    /// <summary><see cref="ConvRowGroups(int,int,float**,float*,long,long,float*,float*,int)"/> over two whole input rows,
    /// <paramref name="row0"/> for ty = 0 and <paramref name="row1"/> for ty = 1.</summary>
    internal static void ConvRow(int k, int stride, float* row0, float* row1, float* w, long lanes, long laneCount, float* bias, float* output,
        int pixels)
    {
        if (Simd.Wide) ConvRow<Simd512, Vector512<float>>(k, stride, row0, row1, w, lanes, laneCount, bias, output, pixels);
        else ConvRow<Simd256, Vector256<float>>(k, stride, row0, row1, w, lanes, laneCount, bias, output, pixels);
    }

    internal static void ConvRow<TI, TV>(int k, int stride, float* row0, float* row1, float* w, long lanes, long laneCount, float* bias,
        float* output, int pixels) where TI : struct, ISimd<TV> where TV : struct
    {
        var groups = stackalloc float*[8];
        for (var i = 0; i < 8; i++) groups[i] = (i < 4 ? row0 : row1) + i % 4 * (k / 4);
        ConvRowGroups<TI, TV>(k, stride, groups, w, lanes, laneCount, bias, output, pixels);
    }

    /// <summary>Two lane vectors of a stride-1 row, each from its own rows (<see cref="ConvTiles.ConvRowPair{TI,TV,TK}"/>);
    /// AVX-512 only (the vectors are 16 lanes: one 16-channel group each).</summary>
    internal static void ConvRowPair(int k, float* row0, float* row1, float* row0b, float* row1b, float* w, long lanes, float* output, int pixels)
    {
        switch (k)
        {
            case 16: ConvTiles.ConvRowPair<Simd512, Vector512<float>, C16>(row0, row1, row0b, row1b, w, lanes, output, pixels); break;
            case 32: ConvTiles.ConvRowPair<Simd512, Vector512<float>, C32>(row0, row1, row0b, row1b, w, lanes, output, pixels); break;
            case 48: ConvTiles.ConvRowPair<Simd512, Vector512<float>, C48>(row0, row1, row0b, row1b, w, lanes, output, pixels); break;
            case 64: ConvTiles.ConvRowPair<Simd512, Vector512<float>, C64>(row0, row1, row0b, row1b, w, lanes, output, pixels); break;
            default: throw new ArgumentOutOfRangeException(nameof(k), k, "No row kernel for this channel count (see Supports).");
        }
    }

    internal static void TapRow(int k, float* src, float* w, long lanes, float* output, long outStride, int pixels)
    {
        if (Simd.Wide) TapRow<Simd512, Vector512<float>>(k, src, w, lanes, output, outStride, pixels);
        else TapRow<Simd256, Vector256<float>>(k, src, w, lanes, output, outStride, pixels);
    }

    internal static void TapRow<TI, TV>(int k, float* src, float* w, long lanes, float* output, long outStride, int pixels)
        where TI : struct, ISimd<TV> where TV : struct
    {
        switch (k)
        {
            case 16: ConvTiles.TapRow<TI, TV, C16>(src, w, lanes, output, outStride, pixels); break;
            case 32: ConvTiles.TapRow<TI, TV, C32>(src, w, lanes, output, outStride, pixels); break;
            case 48: ConvTiles.TapRow<TI, TV, C48>(src, w, lanes, output, outStride, pixels); break;
            case 64: ConvTiles.TapRow<TI, TV, C64>(src, w, lanes, output, outStride, pixels); break;
            default: throw new ArgumentOutOfRangeException(nameof(k), k, "No row kernel for this channel count (see Supports).");
        }
    }

    /// <summary>Runs <paramref name="body"/>(chunk, first, end) on <see cref="ChunkCount"/> contiguous chunks of
    /// [0, rows), on libtorch's threads. The chunks are large, so the few rows recomputed at their edges cost nothing.</summary>
    private static void ForRowChunks(long rows, Action<int, long, long> body) => LibTorchThreads.ForRanges(rows, ChunkCount(rows), body);

    private static int ChunkCount(long rows) => LibTorchThreads.Chunks(rows, 4);
}
