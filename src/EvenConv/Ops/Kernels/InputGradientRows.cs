using System.Runtime.InteropServices;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// One thread's share of the input gradient of the fused 2×2 convolution: input row i gathers each channel group
/// from row i + top (of that group) of the padded input's gradient, which is made row by row into a ring of two
/// buffers — at stride 1 as the convolution of upstream rows q − 1 and q with the turned kernel
/// (<see cref="PackedWeight.ForInputGradient"/>), at stride 2 as one tap per pixel. At stride 1 with groups of whole
/// lane blocks (16 channels each: C_in = 64) each group is convolved straight into the input gradient from its own
/// rows and columns instead: the padded row has (H + 1)(W + 1) pixels for the H·W that are kept (27 % more work at 8×8),
/// and the gather is a pass of its own.
/// With a <see cref="PreActivation"/> the row is the gradient of the activation, and goes straight on, while in cache,
/// through the clamp's mask and into batch norm's sums.
/// </summary>
internal sealed unsafe class InputGradientRows : IDisposable
{
    private readonly SymmetricPadKernel.Geometry g;
    private readonly ExtendedRows upstream;
    private readonly float* weight, paddedGrad, gx, x;
    private readonly PreActivation? pre;
    private readonly double* normSums;
    private readonly long ho, wo, k, lanes;
    private readonly int stride;
    private readonly bool direct, pairs;
    private long heldN = -1, heldQ = -1;   // the last padded-gradient row made, in slot heldQ & 1

    /// <summary>Reads the upstream gradient <paramref name="gy"/> (N, H_out, W_out, C_out in memory) and the weight
    /// packed by <see cref="PackedWeight.ForInputGradient"/>; writes <paramref name="gradInput"/> (N, H, W, C). With
    /// <paramref name="preActivation"/>, masks each row by it (<paramref name="input"/> is the raw input) and adds the
    /// row's sums to <paramref name="sums"/> (see <see cref="PreActivation.MaskGradientRow"/>).</summary>
    public InputGradientRows(SymmetricPadKernel.Geometry geometry, float* gy, long outHeight, long outWidth, long channelsOut,
        float* packedWeight, int stride, float* gradInput, PreActivation? preActivation = null, float* input = null, double* sums = null)
    {
        pre = preActivation;
        x = input;
        normSums = sums;
        g = geometry;
        (ho, wo, k, lanes, this.stride) = (outHeight, outWidth, channelsOut, g.C, stride);
        weight = packedWeight;
        gx = gradInput;
        direct = stride == 1 && g.Count.All(c => c % 16 == 0);
        pairs = direct && Simd.Wide && g.Count.All(c => c == 16);
        upstream = new ExtendedRows(gy, ho, wo, k, slots: direct ? 3 : 2);
        paddedGrad = direct ? null : (float*)NativeMemory.AlignedAlloc((nuint)(2 * g.Wp * lanes * sizeof(float)), 64);
    }

    /// <summary>Input rows [<paramref name="first"/>, <paramref name="end"/>) of N·H.</summary>
    public void Run(long first, long end)
    {
        if (direct)
        {
            RunDirect(first, end);
            return;
        }
        var from = stackalloc byte*[4];
        for (var row = first; row < end; row++)
        {
            long n = row / g.H, i = row % g.H;
            for (var q = n == heldN && heldQ == i ? i + 1 : i; q <= i + 1; q++) MakePaddedRow(n, q, paddedGrad + (q & 1) * g.Wp * lanes);
            (heldN, heldQ) = (n, i + 1);
            for (var c = 0; c < 4; c++)
                from[c] = (byte*)(paddedGrad + ((i + g.Top[c]) & 1) * g.Wp * lanes + g.Left[c] * lanes + g.Start[c]);
            var gxRow = gx + row * g.W * lanes;
            SymmetricPadKernel.Gather(g, from, (byte*)gxRow, 0, g.W, lanes * sizeof(float));
            pre?.MaskGradientRow(x + row * g.W * lanes, gxRow, g.W, normSums);
        }
    }

    /// <summary>Stride 1, groups of whole lane blocks: group c of input row i is padded row i + top_c from column left_c on,
    /// that is the convolution of upstream rows i + top_c − 1 and i + top_c (three rows in all) read from that column.</summary>
    private void RunDirect(long first, long end)
    {
        for (var row = first; row < end; row++)
        {
            long n = row / g.H, i = row % g.H;
            var gxRow = gx + row * g.W * lanes;
            if (pairs)
                for (var c = 0; c < 4; c += 2)
                {
                    // Groups c and c + 1 (16 channels each) as the two lane vectors of one tile: at 8×8 a tile of one
                    // vector has 8 accumulators, too few to cover the FMA latency (175 against 225 GFLOP/s).
                    long q = i + g.Top[c], column = g.Left[c] * k, qb = i + g.Top[c + 1], columnB = g.Left[c + 1] * k;
                    SymmetricConv2x2.ConvRowPair((int)k, upstream.Get(n, q - 1) + column, upstream.Get(n, q) + column,
                        upstream.Get(n, qb - 1) + columnB, upstream.Get(n, qb) + columnB, weight + g.Start[c], lanes, gxRow + g.Start[c], (int)g.W);
                }
            else
                for (var c = 0; c < 4; c++)
                {
                    if (g.Count[c] == 0) continue;
                    long q = i + g.Top[c], column = g.Left[c] * k;
                    SymmetricConv2x2.ConvRow((int)k, 1, upstream.Get(n, q - 1) + column, upstream.Get(n, q) + column, weight + g.Start[c], lanes,
                        g.Count[c], null, gxRow + g.Start[c], (int)g.W);
                }
            pre?.MaskGradientRow(x + row * g.W * lanes, gxRow, g.W, normSums);
        }
    }

    private void MakePaddedRow(long n, long q, float* dst)
    {
        if (stride == 1)
        {
            SymmetricConv2x2.ConvRow((int)k, 1, upstream.Get(n, q - 1), upstream.Get(n, q), weight, lanes, lanes, null, dst, (int)g.Wp);
            return;
        }
        // Stride 2: the windows do not overlap, so padded pixel (q, j) gets only tap (q mod 2, j mod 2) of upstream
        // pixel (q / 2, j / 2); the last row and column of an even-sized map lie in no window and get zero.
        var covered = 2 * wo * lanes;
        if (q >= 2 * ho) { NativeMemory.Clear(dst, (nuint)(g.Wp * lanes * sizeof(float))); return; }
        var src = upstream.Get(n, q / 2) + k;   // past the zero pixel in front
        for (var tx = 0; tx < 2; tx++)
            SymmetricConv2x2.TapRow((int)k, src, weight + PackedWeight.TurnedTap(q & 1, tx) * k * lanes, lanes, dst + tx * lanes, 2 * lanes, (int)wo);
        if (g.Wp * lanes > covered) NativeMemory.Clear(dst + covered, (nuint)((g.Wp * lanes - covered) * sizeof(float)));
    }

    public void Dispose()
    {
        upstream.Dispose();
        if (paddedGrad != null) NativeMemory.AlignedFree(paddedGrad);
    }
}
