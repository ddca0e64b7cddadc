using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// One chunk's share of the weight gradient of the fused 2×2 convolution, summed into a <c>[4][C_in][C_out]</c>
/// accumulator that the caller adds up in chunk order (so results are reproducible). Bands of output rows (about 256
/// pixels, within one image) keep each accumulator tile in registers long enough that loading and storing it is
/// noise; the band's padded input rows sit in one buffer.
/// </summary>
internal sealed unsafe class WeightGradientBands : IDisposable
{
    private readonly SymmetricPadKernel.Geometry g;
    private readonly PreActivation? pre;
    private readonly byte* x;
    private readonly float* gy, acc, band;
    private readonly long ho, wo, lanes, rowFloats;
    private readonly int stride, bandRows, vectors, tileChannels, tileLanes;   // a tile: channels × (vectors · width) lanes

    /// <summary>Reads the input (activated by <paramref name="preActivation"/> where given) and the upstream gradient
    /// <paramref name="gy"/> (N, H_out, W_out, C_out in memory); puts this chunk's accumulator into
    /// <paramref name="sums"/>[<paramref name="chunk"/>], which the caller frees.</summary>
    public WeightGradientBands(SymmetricPadKernel.Geometry geometry, PreActivation? preActivation, byte* input, float* gy, long outHeight,
        long outWidth, long channelsOut, int stride, IntPtr[] sums, int chunk)
    {
        g = geometry;
        pre = preActivation;
        x = input;
        this.gy = gy;
        (ho, wo, lanes, this.stride) = (outHeight, outWidth, channelsOut, stride);
        var size = (nuint)(4 * g.C * lanes * sizeof(float));
        acc = (float*)NativeMemory.AlignedAlloc(size, 64);
        NativeMemory.Clear(acc, size);
        sums[chunk] = (IntPtr)acc;
        bandRows = (int)Math.Clamp((256 + wo - 1) / wo, 1, ho);
        (vectors, tileChannels, tileLanes) = Simd.Wide ? TileShape<Simd512, Vector512<float>>(lanes) : TileShape<Simd256, Vector256<float>>(lanes);
        rowFloats = g.Wp * g.C;
        band = (float*)NativeMemory.AlignedAlloc((nuint)((stride * (bandRows - 1) + 2) * rowFloats * sizeof(float)), 64);
    }

    /// <summary>Output rows [<paramref name="first"/>, <paramref name="end"/>) of N·H_out, band by band; after each band
    /// <paramref name="afterBand"/>(band first, band end) runs while the band's upstream rows are still in cache.</summary>
    public void Run(long first, long end, Action<long, long>? afterBand)
    {
        for (var row = first; row < end;)
        {
            long n = row / ho, h = row % ho;
            var rows = (int)Math.Min(Math.Min(bandRows, ho - h), end - row);
            for (var r = 0; r < stride * (rows - 1) + 2; r++) PaddedRows.Make(g, pre, x, band + r * rowFloats, n, stride * h + r);
            var gyBand = gy + row * wo * lanes;
            for (var t = 0; t < 4; t++)
            {
                var src = band + (t >> 1) * rowFloats + (t & 1) * g.C;
                for (long c = 0; c < g.C; c += tileChannels)
                    for (long lb = 0; lb < lanes; lb += tileLanes)
                        Tile(src + c, rows, gyBand + lb, acc + (t * g.C + c) * lanes + lb);
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
    private void Tile(float* src, int rows, float* gyTile, float* accTile)
    {
        if (Simd.Wide) Tile<Simd512, Vector512<float>>(src, rows, gyTile, accTile);
        else Tile<Simd256, Vector256<float>>(src, rows, gyTile, accTile);
    }

    private void Tile<TI, TV>(float* src, int rows, float* gyTile, float* accTile) where TI : struct, ISimd<TV> where TV : struct
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
