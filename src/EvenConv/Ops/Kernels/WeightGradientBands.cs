using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// One chunk's share of the weight gradient of the fused 2×2 convolution, summed into a <c>[4][C_in][C_out]</c>
/// accumulator that the caller adds up in chunk order (so results are reproducible). Bands of output rows (about 256
/// pixels, within one image) keep each accumulator tile in registers long enough that loading and storing it is
/// noise; the band's input rows sit in one buffer, extended by a zero pixel on each side (<see cref="ExtendedRows"/>), and
/// each channel group of a tap reads them at its own row and column offset.
/// </summary>
internal sealed unsafe class WeightGradientBands : IDisposable
{
    private readonly SymmetricPadKernel.Geometry g;
    private readonly PreActivation? pre;
    private readonly float* x;
    private readonly float* gy, acc, band;
    private readonly long ho, wo, lanes, rowFloats;
    private readonly int stride, bandRows, vectors, tileChannels, tileLanes;   // a tile: channels × (vectors · width) lanes
    private readonly long[] quarterAt;   // [tap][channel tile][quarter]: where in the band a tile's channel quarter starts

    /// <summary>Reads the input (activated by <paramref name="preActivation"/> where given) and the upstream gradient
    /// <paramref name="gy"/> (N, H_out, W_out, C_out in memory); puts this chunk's accumulator into
    /// <paramref name="sums"/>[<paramref name="chunk"/>], which the caller frees.</summary>
    public WeightGradientBands(SymmetricPadKernel.Geometry geometry, PreActivation? preActivation, byte* input, float* gy, long outHeight,
        long outWidth, long channelsOut, int stride, IntPtr[] sums, int chunk)
    {
        g = geometry;
        pre = preActivation;
        x = (float*)input;
        this.gy = gy;
        (ho, wo, lanes, this.stride) = (outHeight, outWidth, channelsOut, stride);
        var size = (nuint)(4 * g.C * lanes * sizeof(float));
        acc = (float*)NativeMemory.AlignedAlloc(size, 64);
        NativeMemory.Clear(acc, size);
        sums[chunk] = (IntPtr)acc;
        bandRows = (int)Math.Clamp((256 + wo - 1) / wo, 1, ho);
        (vectors, tileChannels, tileLanes) = Simd.Wide ? TileShape<Simd512, Vector512<float>>(lanes) : TileShape<Simd256, Vector256<float>>(lanes);
        rowFloats = (g.W + 2) * g.C;
        // Band row b is input row S·h − 1 + b: output row h + r, tap row ty, group c reads input row S·(h + r) + ty − top_c,
        // that is band row S·r + ty − top_c + 1, at extended column S·p + tx − left_c + 1. Each quarter of a tile's
        // channels lies in one group (tile channels / 4 divides C / 4).
        var tiles = g.C / tileChannels;
        quarterAt = new long[4 * tiles * 4];
        for (var t = 0; t < 4; t++)
            for (var tile = 0; tile < tiles; tile++)
                for (var q = 0; q < 4; q++)
                {
                    var channel = tile * tileChannels + q * tileChannels / 4;
                    var group = channel / (g.C / 4);
                    quarterAt[(t * tiles + tile) * 4 + q] = ((t >> 1) - g.Top[group] + 1) * rowFloats + ((t & 1) - g.Left[group] + 1) * g.C + channel;
                }
        var bandBytes = (nuint)((stride * (bandRows - 1) + 3) * rowFloats * sizeof(float));
        band = (float*)NativeMemory.AlignedAlloc(bandBytes, 64);
        NativeMemory.Clear(band, bandBytes);   // the rows' end pixels stay zero (ExtendedRows.Make)
    }

    /// <summary>Output rows [<paramref name="first"/>, <paramref name="end"/>) of N·H_out, band by band; after each band
    /// <paramref name="afterBand"/>(band first, band end) runs while the band's upstream rows are still in cache.</summary>
    public void Run(long first, long end, Action<long, long>? afterBand)
    {
        var quarters = stackalloc float*[4];
        for (var row = first; row < end;)
        {
            long n = row / ho, h = row % ho;
            var rows = (int)Math.Min(Math.Min(bandRows, ho - h), end - row);
            for (var b = 0; b < stride * (rows - 1) + 3; b++) ExtendedRows.Make(x, g.H, g.W, g.C, pre, band + b * rowFloats, n, stride * h - 1 + b);
            var gyBand = gy + row * wo * lanes;
            for (int t = 0, tile = 0; t < 4; t++)
                for (long c = 0; c < g.C; c += tileChannels, tile++)
                {
                    for (var q = 0; q < 4; q++) quarters[q] = band + quarterAt[4 * tile + q];
                    for (long lb = 0; lb < lanes; lb += tileLanes) Tile(quarters, rows, gyBand + lb, acc + (t * g.C + c) * lanes + lb);
                }
            afterBand?.Invoke(row, row + rows);
            row += rows;
        }
    }

    /// <summary>Lane vectors, input channels and output lanes of one weight tile (<see cref="ConvTiles.WeightTile{TI,TV,TVectors}"/>).</summary>
    private static (int Vectors, int Channels, int Lanes) TileShape<TI, TV>(long lanes) where TI : struct, ISimd<TV> where TV : struct
    {
        var v = TI.WeightTileVectors(lanes);
        return (v, TI.WeightTileAccumulators / v, TI.Width * v);
    }

    /// <summary>One tile of accumulators over the band, as wide in output lanes as the output channels allow.</summary>
    private void Tile(float** src, int rows, float* gyTile, float* accTile)
    {
        if (Simd.Wide) Tile<Simd512, Vector512<float>>(src, rows, gyTile, accTile);
        else Tile<Simd256, Vector256<float>>(src, rows, gyTile, accTile);
    }

    private void Tile<TI, TV>(float** src, int rows, float* gyTile, float* accTile) where TI : struct, ISimd<TV> where TV : struct
    {
        long k = stride * g.C, srcRowStride = stride * rowFloats, gyRowStride = wo * lanes;
        switch (vectors)
        {
            case 4: ConvTiles.WeightTile<TI, TV, C4>(src, k, srcRowStride, gyTile, lanes, gyRowStride, (int)wo, rows, accTile); break;
            case 2: ConvTiles.WeightTile<TI, TV, C2>(src, k, srcRowStride, gyTile, lanes, gyRowStride, (int)wo, rows, accTile); break;
            default: ConvTiles.WeightTile<TI, TV, C1>(src, k, srcRowStride, gyTile, lanes, gyRowStride, (int)wo, rows, accTile); break;
        }
    }

    public void Dispose() => NativeMemory.AlignedFree(band);
}
