using System.Runtime.Intrinsics;
using EvenConv.Ops.Kernels;

namespace EvenConv.Tests.Ops;

/// <summary>
/// The register tiles of the fused C2sp kernels at both vector widths, on raw buffers against float64 loops. The
/// whole-op tests run only the width this CPU has; these run both everywhere (a width the CPU lacks runs in .NET's
/// software vectors: slow, but the same generic code), so an AVX2 machine still checks the AVX-512 tiles and the
/// other way round.
/// </summary>
public unsafe class ConvTilesTests
{
    public static TheoryData<int, int, int, int, bool> RowCases => new()
    {
        // channels, stride, pixels, lanes, bias
        { 16, 1, 1, 16, true },
        { 16, 1, 29, 16, false },   // 29 pixels: two row tiles of one AVX-512 vector, five of AVX2, none full
        { 16, 2, 16, 16, true },    // one tile of 16 pixels
        { 32, 1, 33, 16, false },   // tiles of 16 and 17: the padded rows of a 32-pixel input gradient
        { 32, 1, 27, 64, true },    // two-vector tiles on both widths, paired taps: 13 + 14 pixels would not fit, 3 × 9 do
        { 64, 1, 14, 32, false },
        { 48, 1, 13, 64, true },
        { 32, 2, 14, 32, false },
        { 64, 2, 12, 48, true },
        { 16, 2, 31, 64, false },
    };

    [Theory, MemberData(nameof(RowCases))]
    public void Conv_rows_match_the_float64_loop(int k, int stride, int pixels, int lanes, bool bias)
    {
        ConvRow<Simd512, Vector512<float>>(k, stride, pixels, lanes, bias);
        ConvRow<Simd256, Vector256<float>>(k, stride, pixels, lanes, bias);
    }

    [Theory]
    [InlineData(16, 1, 29, 16)]
    [InlineData(32, 2, 14, 64)]
    [InlineData(64, 1, 8, 64)]
    [InlineData(48, 1, 13, 32)]
    public void Conv_rows_with_each_channel_quarter_from_its_own_place_match_the_float64_loop(int k, int stride, int pixels, int lanes)
    {
        GroupRows<Simd512, Vector512<float>>(k, stride, pixels, lanes);
        GroupRows<Simd256, Vector256<float>>(k, stride, pixels, lanes);
    }

    [Theory]
    [InlineData(16, 16, 64)]
    [InlineData(64, 8, 64)]
    [InlineData(32, 27, 32)]
    public void Conv_rows_over_some_lanes_and_lane_pairs_with_their_own_rows_match_the_float64_loop(int k, int pixels, int lanes)
    {
        LanesAndPairs<Simd512, Vector512<float>>(k, pixels, lanes);
        LanesAndPairs<Simd256, Vector256<float>>(k, pixels, lanes);
    }

    [Theory]
    [InlineData(16, 1, 16, 1)]
    [InlineData(32, 25, 48, 3)]
    [InlineData(64, 14, 64, 2)]
    public void Tap_rows_match_the_float64_loop(int k, int pixels, int lanes, int outSpacing)
    {
        TapRow<Simd512, Vector512<float>>(k, pixels, lanes, outSpacing);
        TapRow<Simd256, Vector256<float>>(k, pixels, lanes, outSpacing);
    }

    [Theory]
    [InlineData(16, 16, 7, 3)]
    [InlineData(32, 32, 16, 1)]
    [InlineData(48, 64, 5, 4)]
    public void Weight_tiles_match_the_float64_loop_and_add_to_the_accumulators(int k, int lanes, int pixels, int rows)
    {
        WeightTiles<Simd512, Vector512<float>>(k, lanes, pixels, rows);
        WeightTiles<Simd256, Vector256<float>>(k, lanes, pixels, rows);
    }

    private static void ConvRow<TI, TV>(int k, int stride, int pixels, int lanes, bool bias) where TI : struct, ISimd<TV> where TV : struct
    {
        var rng = new Random(k * 131 + pixels);
        var inputPixels = stride * pixels + 1;
        float[] row0 = Values(rng, inputPixels * k), row1 = Values(rng, inputPixels * k), w = Values(rng, 4 * k * lanes),
            b = Values(rng, lanes), output = new float[pixels * lanes];
        fixed (float* r0 = row0, r1 = row1, wp = w, bp = b, o = output)
            SymmetricConv2x2.ConvRow<TI, TV>(k, stride, r0, r1, wp, lanes, lanes, bias ? bp : null, o, pixels);
        for (var p = 0; p < pixels; p++)
            for (var lane = 0; lane < lanes; lane++)
            {
                double expected = bias ? b[lane] : 0;
                for (var tap = 0; tap < 4; tap++)
                {
                    var row = tap < 2 ? row0 : row1;
                    var col = stride * p + tap % 2;
                    for (var c = 0; c < k; c++) expected += (double)row[col * k + c] * w[(tap * k + c) * lanes + lane];
                }
                AssertNear(expected, output[p * lanes + lane], $"{typeof(TV).Name}: pixel {p}, lane {lane}");
            }
    }

    /// <summary>Each of the eight (kernel row, channel quarter) inputs in an array of its own, as the channel groups of
    /// symmetric padding are read from their own rows and columns.</summary>
    private static void GroupRows<TI, TV>(int k, int stride, int pixels, int lanes) where TI : struct, ISimd<TV> where TV : struct
    {
        var rng = new Random(k * 11 + pixels);
        int part = k / 4, inputPixels = stride * pixels + 1;
        var inputs = Enumerable.Range(0, 8).Select(_ => Values(rng, inputPixels * k)).ToArray();   // [4·ty + q], k floats per pixel
        float[] w = Values(rng, 4 * k * lanes), b = Values(rng, lanes), output = new float[pixels * lanes];
        var handles = inputs.Select(a => System.Runtime.InteropServices.GCHandle.Alloc(a, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
        try
        {
            var groups = stackalloc float*[8];
            for (var i = 0; i < 8; i++) groups[i] = (float*)handles[i].AddrOfPinnedObject();
            fixed (float* wp = w, bp = b, o = output)
                SymmetricConv2x2.ConvRowGroups<TI, TV>(k, stride, groups, wp, lanes, lanes, bp, o, pixels);
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
        for (var p = 0; p < pixels; p++)
            for (var lane = 0; lane < lanes; lane++)
            {
                double expected = b[lane];
                for (var tap = 0; tap < 4; tap++)
                    for (var c = 0; c < k; c++)
                        expected += (double)inputs[4 * (tap / 2) + c / part][(stride * p + tap % 2) * k + c % part] * w[(tap * k + c) * lanes + lane];
                AssertNear(expected, output[p * lanes + lane], $"{typeof(TV).Name}: pixel {p}, lane {lane}");
            }
    }

    /// <summary>Stride 1: the first 16 lanes alone (<c>laneCount</c>), then the two lane vectors of a pair, each from its
    /// own two rows; the other lanes of the output stay as they were.</summary>
    private static void LanesAndPairs<TI, TV>(int k, int pixels, int lanes) where TI : struct, ISimd<TV> where TV : struct
    {
        var rng = new Random(k * 7 + pixels);
        float[] row0 = Values(rng, (pixels + 1) * k), row1 = Values(rng, (pixels + 1) * k), row0b = Values(rng, (pixels + 1) * k),
            row1b = Values(rng, (pixels + 1) * k), w = Values(rng, 4 * k * lanes);
        double Expected(float[] r0, float[] r1, int p, int lane)
        {
            double sum = 0;
            for (var tap = 0; tap < 4; tap++)
                for (var c = 0; c < k; c++) sum += (double)(tap < 2 ? r0 : r1)[(p + tap % 2) * k + c] * w[(tap * k + c) * lanes + lane];
            return sum;
        }
        var output = Values(rng, pixels * lanes);
        var untouched = (float[])output.Clone();
        fixed (float* r0 = row0, r1 = row1, wp = w, o = output)
            SymmetricConv2x2.ConvRow<TI, TV>(k, 1, r0, r1, wp, lanes, 16, null, o, pixels);
        for (var p = 0; p < pixels; p++)
            for (var lane = 0; lane < lanes; lane++)
                if (lane < 16) AssertNear(Expected(row0, row1, p, lane), output[p * lanes + lane], $"{typeof(TV).Name}: 16 lanes, pixel {p}, lane {lane}");
                else Assert.Equal(untouched[p * lanes + lane], output[p * lanes + lane]);
        output = Values(rng, pixels * lanes);
        untouched = (float[])output.Clone();
        fixed (float* r0 = row0, r1 = row1, r0b = row0b, r1b = row1b, wp = w, o = output)
            switch (k)
            {
                case 16: ConvTiles.ConvRowPair<TI, TV, C16>(r0, r1, r0b, r1b, wp, lanes, o, pixels); break;
                case 32: ConvTiles.ConvRowPair<TI, TV, C32>(r0, r1, r0b, r1b, wp, lanes, o, pixels); break;
                default: ConvTiles.ConvRowPair<TI, TV, C64>(r0, r1, r0b, r1b, wp, lanes, o, pixels); break;
            }
        for (var p = 0; p < pixels; p++)
            for (var lane = 0; lane < lanes; lane++)
                if (lane < 2 * TI.Width)
                {
                    var own = lane < TI.Width ? (row0, row1) : (row0b, row1b);
                    AssertNear(Expected(own.Item1, own.Item2, p, lane), output[p * lanes + lane], $"{typeof(TV).Name}: pair, pixel {p}, lane {lane}");
                }
                else Assert.Equal(untouched[p * lanes + lane], output[p * lanes + lane]);
    }

    private static void TapRow<TI, TV>(int k, int pixels, int lanes, int outSpacing) where TI : struct, ISimd<TV> where TV : struct
    {
        var rng = new Random(k + pixels);
        float[] src = Values(rng, pixels * k), w = Values(rng, k * lanes), output = Values(rng, pixels * outSpacing * lanes);
        var untouched = (float[])output.Clone();
        fixed (float* s = src, wp = w, o = output)
            SymmetricConv2x2.TapRow<TI, TV>(k, s, wp, lanes, o, outSpacing * lanes, pixels);
        for (var p = 0; p < pixels; p++)
            for (var lane = 0; lane < lanes; lane++)
            {
                double expected = 0;
                for (var c = 0; c < k; c++) expected += (double)src[p * k + c] * w[c * lanes + lane];
                AssertNear(expected, output[p * outSpacing * lanes + lane], $"{typeof(TV).Name}: pixel {p}, lane {lane}");
                for (var gap = 1; gap < outSpacing; gap++)
                    Assert.Equal(untouched[(p * outSpacing + gap) * lanes + lane], output[(p * outSpacing + gap) * lanes + lane]);
            }
    }

    private static void WeightTiles<TI, TV>(int k, int lanes, int pixels, int rows) where TI : struct, ISimd<TV> where TV : struct
    {
        var rng = new Random(k * lanes + rows);
        const int rowGap = 3;   // rows of both inputs lie further apart than one row's pixels
        long srcRowStride = pixels * k + rowGap, gyRowStride = pixels * lanes + rowGap;
        const int quarterShift = 7;   // quarter q of a tile's channels is read q · 7 floats further on: its own place
        float[] src = Values(rng, (int)(rows * srcRowStride) + 4 * quarterShift), gy = Values(rng, (int)(rows * gyRowStride));
        var vectors = TI.WeightTileVectors(lanes);
        int channels = TI.WeightTileAccumulators / vectors, width = TI.Width * vectors, per = channels / 4;
        int Input(int r, int p, int j) => (int)(r * srcRowStride) + p * k + j + (j % channels) / per * quarterShift;
        var at = stackalloc float*[4];
        for (var c0 = 0; c0 < k; c0 += channels)
            for (var l0 = 0; l0 < lanes; l0 += width)
            {
                var acc = Values(rng, k * lanes);
                var before = (float[])acc.Clone();
                fixed (float* s = src, g = gy, a = acc)
                {
                    for (var q = 0; q < 4; q++) at[q] = s + c0 + q * per + q * quarterShift;
                    var accAt = a + c0 * lanes + l0;
                    switch (vectors)
                    {
                        case 4: ConvTiles.WeightTile<TI, TV, C4>(at, k, srcRowStride, g + l0, lanes, gyRowStride, pixels, rows, accAt); break;
                        case 2: ConvTiles.WeightTile<TI, TV, C2>(at, k, srcRowStride, g + l0, lanes, gyRowStride, pixels, rows, accAt); break;
                        default: ConvTiles.WeightTile<TI, TV, C1>(at, k, srcRowStride, g + l0, lanes, gyRowStride, pixels, rows, accAt); break;
                    }
                }
                for (var j = 0; j < k; j++)
                    for (var lane = 0; lane < lanes; lane++)
                    {
                        var inTile = j >= c0 && j < c0 + channels && lane >= l0 && lane < l0 + width;
                        double expected = before[j * lanes + lane];
                        if (inTile)
                            for (var r = 0; r < rows; r++)
                                for (var p = 0; p < pixels; p++)
                                    expected += (double)src[Input(r, p, j)] * gy[r * gyRowStride + p * lanes + lane];
                        AssertNear(expected, acc[j * lanes + lane], $"{typeof(TV).Name}: tile ({c0}, {l0}), channel {j}, lane {lane}");
                    }
            }
    }

    private static float[] Values(Random rng, int count) => Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    private static void AssertNear(double expected, float actual, string where) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + Math.Abs(expected)), $"{where}: expected {expected}, got {actual}");
}
