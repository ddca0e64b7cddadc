using System.Runtime.CompilerServices;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// Register-blocked inner loops of the 2×2 convolution kernels (<see cref="SymmetricConv2x2"/>), generic over the
/// vector width (<see cref="ISimd{TV}"/>: AVX-512 or AVX2). Each keeps a tile of outputs in registers — up to 14 pixels
/// × 16 or 32 channels, or 16 accumulators of input × output channels, with AVX-512; 6 pixels × 16 channels, or 8 or 4
/// input channels × 8 or 16 output channels, with AVX2 — and streams the reduction through them with broadcast-FMAs, so
/// every input value loaded feeds one or more full vectors of multiply-adds (with AVX-512 at stride 1, those of both
/// taps of a kernel row). Tile sizes and channel counts are generic constants (<see cref="IConst"/>): the JIT compiles
/// one copy per size with every address offset folded into the instruction, which is what makes a C# loop reach
/// 200–235 GFLOP/s per Zen 5 core with AVX-512 (the FMA peak is ≈230 at its clock) and ≈70–90 per Zen 3 core with AVX2.
/// </summary>
internal static unsafe class ConvTiles
{
    /// <summary>
    /// <c>out[r] = init + Σ_tap Σ_k in_ty[(r·S + tx)·K + k] · w[tap][k]</c> for the <c>R</c> pixels r of one row tile and
    /// <c>V</c> (<c>TVectors</c>) vectors of output lanes: with <c>T</c> = 4, the taps tap = 2·ty + tx of a 2×2 kernel
    /// over input rows ty = 0 and 1 at stride <c>S</c>; with <c>T</c> = 1, one tap over row 0 (tx = 0). Each quarter q of
    /// the K input channels of row ty is read from its own place, <c>src[4·ty + q]</c>, pixel-major with K floats per
    /// pixel, at the tile's first pixel; with two <c>TSources</c> lane vector 1 reads <c>src[8 + 4·ty + q]</c> instead.
    /// <paramref name="w"/> is tap-major <c>[T][K][lanes]</c>, already at this lane block,
    /// <paramref name="lanes"/> floats per k; outputs are <paramref name="outStride"/> floats apart. Accumulator j holds
    /// pixel j / V, lane vector j % V.
    /// At stride 1 the two taps of a kernel row read neighbouring pixels, so each input value loaded feeds both:
    /// input pixel j goes to output j through tap tx = 0 and to output j − 1 through tx = 1 — R + 1 broadcasts per 2R·V
    /// multiply-adds instead of 2R, where <see cref="ISimd{TV}.PairTaps"/> says so.
    /// A method of its own, not inlined into <see cref="Row{TI,TV,TK,TS,TT,TVectors,TSources}"/>: the fourteen tile sizes inlined
    /// there exhaust the JIT's inlining budget, and the <see cref="ISimd{TV}"/> members of the last ones then stay calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTile<TI, TV, TR, TK, TS, TT, TVectors, TSources>(float** src, float* w, long lanes, float* o, long outStride,
        TV init0, TV init1) where TI : struct, ISimd<TV> where TV : struct
        where TR : struct, IConst where TK : struct, IConst where TS : struct, IConst where TT : struct, IConst where TVectors : struct, IConst
        where TSources : struct, IConst
    {
        int r = TR.Value, k = TK.Value, p = TS.Value * TK.Value, v = TVectors.Value, width = TI.Width;
        var split = TSources.Value == 2;   // lane vector 1 reads src[8..16)
        var part = k / 4;   // channels per quarter
        var tapFloats = k * lanes;   // from one tap's weights to the next
        // init0 and init1 start lane vectors 0 and 1 (with one lane vector they are the same).
        TV a0 = init0, a1 = init1, a2 = init0, a3 = init1, a4 = init0, a5 = init1, a6 = init0, a7 = init1, a8 = init0, a9 = init1,
            a10 = init0, a11 = init1, a12 = init0, a13 = init1, a14 = init0, a15 = init1, a16 = init0, a17 = init1, a18 = init0,
            a19 = init1, a20 = init0, a21 = init1, a22 = init0, a23 = init1, a24 = init0, a25 = init1, a26 = init0, a27 = init1;
        if (Paired<TI, TV, TS, TT>())
        {
            for (var ty = 0; ty < 2; ty++)
            {
                var wa = w + 2 * ty * tapFloats;   // tap tx = 0; tx = 1 follows tapFloats later
                for (var q = 0; q < 4; q++)
                {
                    float* s = src[4 * ty + q], sb = split ? src[8 + 4 * ty + q] : s;
                    for (var c = 0; c < part; c++, s++, sb++, wa += lanes)
                    {
                        // x: the weights of tap tx = 0, y: tx = 1; b: input pixel j, for output j (x) and j − 1 (y).
                        TV x0 = TI.Load(wa), y0 = TI.Load(wa + tapFloats), b, bb;
                        if (v == 1)
                        {
                            b = TI.Splat(s[0]); a0 = TI.Fma(b, x0, a0);
                            { b = TI.Splat(s[1 * k]); a0 = TI.Fma(b, y0, a0); if (r > 1) a1 = TI.Fma(b, x0, a1); }
                            if (r > 1) { b = TI.Splat(s[2 * k]); a1 = TI.Fma(b, y0, a1); if (r > 2) a2 = TI.Fma(b, x0, a2); }
                            if (r > 2) { b = TI.Splat(s[3 * k]); a2 = TI.Fma(b, y0, a2); if (r > 3) a3 = TI.Fma(b, x0, a3); }
                            if (r > 3) { b = TI.Splat(s[4 * k]); a3 = TI.Fma(b, y0, a3); if (r > 4) a4 = TI.Fma(b, x0, a4); }
                            if (r > 4) { b = TI.Splat(s[5 * k]); a4 = TI.Fma(b, y0, a4); if (r > 5) a5 = TI.Fma(b, x0, a5); }
                            if (r > 5) { b = TI.Splat(s[6 * k]); a5 = TI.Fma(b, y0, a5); if (r > 6) a6 = TI.Fma(b, x0, a6); }
                            if (r > 6) { b = TI.Splat(s[7 * k]); a6 = TI.Fma(b, y0, a6); if (r > 7) a7 = TI.Fma(b, x0, a7); }
                            if (r > 7) { b = TI.Splat(s[8 * k]); a7 = TI.Fma(b, y0, a7); if (r > 8) a8 = TI.Fma(b, x0, a8); }
                            if (r > 8) { b = TI.Splat(s[9 * k]); a8 = TI.Fma(b, y0, a8); if (r > 9) a9 = TI.Fma(b, x0, a9); }
                            if (r > 9) { b = TI.Splat(s[10 * k]); a9 = TI.Fma(b, y0, a9); if (r > 10) a10 = TI.Fma(b, x0, a10); }
                            if (r > 10) { b = TI.Splat(s[11 * k]); a10 = TI.Fma(b, y0, a10); if (r > 11) a11 = TI.Fma(b, x0, a11); }
                            if (r > 11) { b = TI.Splat(s[12 * k]); a11 = TI.Fma(b, y0, a11); if (r > 12) a12 = TI.Fma(b, x0, a12); }
                            if (r > 12) { b = TI.Splat(s[13 * k]); a12 = TI.Fma(b, y0, a12); if (r > 13) a13 = TI.Fma(b, x0, a13); }
                            if (r > 13) { b = TI.Splat(s[14 * k]); a13 = TI.Fma(b, y0, a13); if (r > 14) a14 = TI.Fma(b, x0, a14); }
                            if (r > 14) { b = TI.Splat(s[15 * k]); a14 = TI.Fma(b, y0, a14); if (r > 15) a15 = TI.Fma(b, x0, a15); }
                            if (r > 15) { b = TI.Splat(s[16 * k]); a15 = TI.Fma(b, y0, a15); if (r > 16) a16 = TI.Fma(b, x0, a16); }
                            if (r > 16) { b = TI.Splat(s[17 * k]); a16 = TI.Fma(b, y0, a16); }
                        }
                        else
                        {
                            TV x1 = TI.Load(wa + width), y1 = TI.Load(wa + tapFloats + width);
                            b = TI.Splat(s[0]); bb = split ? TI.Splat(sb[0]) : b; a0 = TI.Fma(b, x0, a0); a1 = TI.Fma(bb, x1, a1);
                            { b = TI.Splat(s[1 * k]); bb = split ? TI.Splat(sb[1 * k]) : b; a0 = TI.Fma(b, y0, a0); a1 = TI.Fma(bb, y1, a1); if (r > 1) { a2 = TI.Fma(b, x0, a2); a3 = TI.Fma(bb, x1, a3); } }
                            if (r > 1) { b = TI.Splat(s[2 * k]); bb = split ? TI.Splat(sb[2 * k]) : b; a2 = TI.Fma(b, y0, a2); a3 = TI.Fma(bb, y1, a3); if (r > 2) { a4 = TI.Fma(b, x0, a4); a5 = TI.Fma(bb, x1, a5); } }
                            if (r > 2) { b = TI.Splat(s[3 * k]); bb = split ? TI.Splat(sb[3 * k]) : b; a4 = TI.Fma(b, y0, a4); a5 = TI.Fma(bb, y1, a5); if (r > 3) { a6 = TI.Fma(b, x0, a6); a7 = TI.Fma(bb, x1, a7); } }
                            if (r > 3) { b = TI.Splat(s[4 * k]); bb = split ? TI.Splat(sb[4 * k]) : b; a6 = TI.Fma(b, y0, a6); a7 = TI.Fma(bb, y1, a7); if (r > 4) { a8 = TI.Fma(b, x0, a8); a9 = TI.Fma(bb, x1, a9); } }
                            if (r > 4) { b = TI.Splat(s[5 * k]); bb = split ? TI.Splat(sb[5 * k]) : b; a8 = TI.Fma(b, y0, a8); a9 = TI.Fma(bb, y1, a9); if (r > 5) { a10 = TI.Fma(b, x0, a10); a11 = TI.Fma(bb, x1, a11); } }
                            if (r > 5) { b = TI.Splat(s[6 * k]); bb = split ? TI.Splat(sb[6 * k]) : b; a10 = TI.Fma(b, y0, a10); a11 = TI.Fma(bb, y1, a11); if (r > 6) { a12 = TI.Fma(b, x0, a12); a13 = TI.Fma(bb, x1, a13); } }
                            if (r > 6) { b = TI.Splat(s[7 * k]); bb = split ? TI.Splat(sb[7 * k]) : b; a12 = TI.Fma(b, y0, a12); a13 = TI.Fma(bb, y1, a13); if (r > 7) { a14 = TI.Fma(b, x0, a14); a15 = TI.Fma(bb, x1, a15); } }
                            if (r > 7) { b = TI.Splat(s[8 * k]); bb = split ? TI.Splat(sb[8 * k]) : b; a14 = TI.Fma(b, y0, a14); a15 = TI.Fma(bb, y1, a15); if (r > 8) { a16 = TI.Fma(b, x0, a16); a17 = TI.Fma(bb, x1, a17); } }
                            if (r > 8) { b = TI.Splat(s[9 * k]); bb = split ? TI.Splat(sb[9 * k]) : b; a16 = TI.Fma(b, y0, a16); a17 = TI.Fma(bb, y1, a17); if (r > 9) { a18 = TI.Fma(b, x0, a18); a19 = TI.Fma(bb, x1, a19); } }
                            if (r > 9) { b = TI.Splat(s[10 * k]); bb = split ? TI.Splat(sb[10 * k]) : b; a18 = TI.Fma(b, y0, a18); a19 = TI.Fma(bb, y1, a19); if (r > 10) { a20 = TI.Fma(b, x0, a20); a21 = TI.Fma(bb, x1, a21); } }
                            if (r > 10) { b = TI.Splat(s[11 * k]); bb = split ? TI.Splat(sb[11 * k]) : b; a20 = TI.Fma(b, y0, a20); a21 = TI.Fma(bb, y1, a21); if (r > 11) { a22 = TI.Fma(b, x0, a22); a23 = TI.Fma(bb, x1, a23); } }
                            if (r > 11) { b = TI.Splat(s[12 * k]); bb = split ? TI.Splat(sb[12 * k]) : b; a22 = TI.Fma(b, y0, a22); a23 = TI.Fma(bb, y1, a23); if (r > 12) { a24 = TI.Fma(b, x0, a24); a25 = TI.Fma(bb, x1, a25); } }
                            if (r > 12) { b = TI.Splat(s[13 * k]); bb = split ? TI.Splat(sb[13 * k]) : b; a24 = TI.Fma(b, y0, a24); a25 = TI.Fma(bb, y1, a25); }
                        }
                    }
                }
            }
        }
        else
        {
            for (var t = 0; t < TT.Value; t++)
            {
                int ty = t >> 1, tx = t & 1;
                var wt = w + t * tapFloats;
                for (var q = 0; q < 4; q++)
                {
                    float* s = src[4 * ty + q] + tx * k, sb = split ? src[8 + 4 * ty + q] + tx * k : s;
                    for (var c = 0; c < part; c++, s++, sb++, wt += lanes)
                    {
                        var w0 = TI.Load(wt);
                        if (v == 1)
                        {
                            a0 = TI.Fma(TI.Splat(s[0]), w0, a0);
                            if (r > 1) a1 = TI.Fma(TI.Splat(s[p]), w0, a1);
                            if (r > 2) a2 = TI.Fma(TI.Splat(s[2 * p]), w0, a2);
                            if (r > 3) a3 = TI.Fma(TI.Splat(s[3 * p]), w0, a3);
                            if (r > 4) a4 = TI.Fma(TI.Splat(s[4 * p]), w0, a4);
                            if (r > 5) a5 = TI.Fma(TI.Splat(s[5 * p]), w0, a5);
                            if (r > 6) a6 = TI.Fma(TI.Splat(s[6 * p]), w0, a6);
                            if (r > 7) a7 = TI.Fma(TI.Splat(s[7 * p]), w0, a7);
                            if (r > 8) a8 = TI.Fma(TI.Splat(s[8 * p]), w0, a8);
                            if (r > 9) a9 = TI.Fma(TI.Splat(s[9 * p]), w0, a9);
                            if (r > 10) a10 = TI.Fma(TI.Splat(s[10 * p]), w0, a10);
                            if (r > 11) a11 = TI.Fma(TI.Splat(s[11 * p]), w0, a11);
                            if (r > 12) a12 = TI.Fma(TI.Splat(s[12 * p]), w0, a12);
                            if (r > 13) a13 = TI.Fma(TI.Splat(s[13 * p]), w0, a13);
                            if (r > 14) a14 = TI.Fma(TI.Splat(s[14 * p]), w0, a14);
                            if (r > 15) a15 = TI.Fma(TI.Splat(s[15 * p]), w0, a15);
                            if (r > 16) a16 = TI.Fma(TI.Splat(s[16 * p]), w0, a16);
                        }
                        else
                        {
                            var w1 = TI.Load(wt + width);
                            var b = TI.Splat(s[0]); var bb = split ? TI.Splat(sb[0]) : b; a0 = TI.Fma(b, w0, a0); a1 = TI.Fma(bb, w1, a1);
                            if (r > 1) { b = TI.Splat(s[p]); bb = split ? TI.Splat(sb[p]) : b; a2 = TI.Fma(b, w0, a2); a3 = TI.Fma(bb, w1, a3); }
                            if (r > 2) { b = TI.Splat(s[2 * p]); bb = split ? TI.Splat(sb[2 * p]) : b; a4 = TI.Fma(b, w0, a4); a5 = TI.Fma(bb, w1, a5); }
                            if (r > 3) { b = TI.Splat(s[3 * p]); bb = split ? TI.Splat(sb[3 * p]) : b; a6 = TI.Fma(b, w0, a6); a7 = TI.Fma(bb, w1, a7); }
                            if (r > 4) { b = TI.Splat(s[4 * p]); bb = split ? TI.Splat(sb[4 * p]) : b; a8 = TI.Fma(b, w0, a8); a9 = TI.Fma(bb, w1, a9); }
                            if (r > 5) { b = TI.Splat(s[5 * p]); bb = split ? TI.Splat(sb[5 * p]) : b; a10 = TI.Fma(b, w0, a10); a11 = TI.Fma(bb, w1, a11); }
                            if (r > 6) { b = TI.Splat(s[6 * p]); bb = split ? TI.Splat(sb[6 * p]) : b; a12 = TI.Fma(b, w0, a12); a13 = TI.Fma(bb, w1, a13); }
                            if (r > 7) { b = TI.Splat(s[7 * p]); bb = split ? TI.Splat(sb[7 * p]) : b; a14 = TI.Fma(b, w0, a14); a15 = TI.Fma(bb, w1, a15); }
                            if (r > 8) { b = TI.Splat(s[8 * p]); bb = split ? TI.Splat(sb[8 * p]) : b; a16 = TI.Fma(b, w0, a16); a17 = TI.Fma(bb, w1, a17); }
                            if (r > 9) { b = TI.Splat(s[9 * p]); bb = split ? TI.Splat(sb[9 * p]) : b; a18 = TI.Fma(b, w0, a18); a19 = TI.Fma(bb, w1, a19); }
                            if (r > 10) { b = TI.Splat(s[10 * p]); bb = split ? TI.Splat(sb[10 * p]) : b; a20 = TI.Fma(b, w0, a20); a21 = TI.Fma(bb, w1, a21); }
                            if (r > 11) { b = TI.Splat(s[11 * p]); bb = split ? TI.Splat(sb[11 * p]) : b; a22 = TI.Fma(b, w0, a22); a23 = TI.Fma(bb, w1, a23); }
                            if (r > 12) { b = TI.Splat(s[12 * p]); bb = split ? TI.Splat(sb[12 * p]) : b; a24 = TI.Fma(b, w0, a24); a25 = TI.Fma(bb, w1, a25); }
                            if (r > 13) { b = TI.Splat(s[13 * p]); bb = split ? TI.Splat(sb[13 * p]) : b; a26 = TI.Fma(b, w0, a26); a27 = TI.Fma(bb, w1, a27); }
                        }
                    }
                }
            }
        }
        if (v == 1)
        {
            TI.Store(a0, o);
            if (r > 1) TI.Store(a1, o + outStride);
            if (r > 2) TI.Store(a2, o + 2 * outStride);
            if (r > 3) TI.Store(a3, o + 3 * outStride);
            if (r > 4) TI.Store(a4, o + 4 * outStride);
            if (r > 5) TI.Store(a5, o + 5 * outStride);
            if (r > 6) TI.Store(a6, o + 6 * outStride);
            if (r > 7) TI.Store(a7, o + 7 * outStride);
            if (r > 8) TI.Store(a8, o + 8 * outStride);
            if (r > 9) TI.Store(a9, o + 9 * outStride);
            if (r > 10) TI.Store(a10, o + 10 * outStride);
            if (r > 11) TI.Store(a11, o + 11 * outStride);
            if (r > 12) TI.Store(a12, o + 12 * outStride);
            if (r > 13) TI.Store(a13, o + 13 * outStride);
            if (r > 14) TI.Store(a14, o + 14 * outStride);
            if (r > 15) TI.Store(a15, o + 15 * outStride);
            if (r > 16) TI.Store(a16, o + 16 * outStride);
        }
        else
        {
            TI.Store(a0, o); TI.Store(a1, o + width);
            if (r > 1) { TI.Store(a2, o + outStride); TI.Store(a3, o + outStride + width); }
            if (r > 2) { TI.Store(a4, o + 2 * outStride); TI.Store(a5, o + 2 * outStride + width); }
            if (r > 3) { TI.Store(a6, o + 3 * outStride); TI.Store(a7, o + 3 * outStride + width); }
            if (r > 4) { TI.Store(a8, o + 4 * outStride); TI.Store(a9, o + 4 * outStride + width); }
            if (r > 5) { TI.Store(a10, o + 5 * outStride); TI.Store(a11, o + 5 * outStride + width); }
            if (r > 6) { TI.Store(a12, o + 6 * outStride); TI.Store(a13, o + 6 * outStride + width); }
            if (r > 7) { TI.Store(a14, o + 7 * outStride); TI.Store(a15, o + 7 * outStride + width); }
            if (r > 8) { TI.Store(a16, o + 8 * outStride); TI.Store(a17, o + 8 * outStride + width); }
            if (r > 9) { TI.Store(a18, o + 9 * outStride); TI.Store(a19, o + 9 * outStride + width); }
            if (r > 10) { TI.Store(a20, o + 10 * outStride); TI.Store(a21, o + 10 * outStride + width); }
            if (r > 11) { TI.Store(a22, o + 11 * outStride); TI.Store(a23, o + 11 * outStride + width); }
            if (r > 12) { TI.Store(a24, o + 12 * outStride); TI.Store(a25, o + 12 * outStride + width); }
            if (r > 13) { TI.Store(a26, o + 13 * outStride); TI.Store(a27, o + 13 * outStride + width); }
        }
    }

    /// <summary>True where <see cref="RowTile{TI,TV,TR,TK,TS,TT,TVectors,TSources}"/> shares each broadcast between the two
    /// taps of a kernel row: a 2×2 kernel at stride 1, on a width that gains by it (<see cref="ISimd{TV}.PairTaps"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Paired<TI, TV, TS, TT>() where TI : struct, ISimd<TV> where TV : struct where TS : struct, IConst where TT : struct, IConst =>
        TI.PairTaps && TS.Value == 1 && TT.Value == 4;

    /// <summary>The most pixels a row tile of <paramref name="vectors"/> lane vectors keeps in registers: accumulators
    /// for each, the weight vectors (two taps' when paired) and one broadcast input per source: with AVX-512 17 of one lane
    /// vector (so a 32- or 33-pixel row takes two tiles: at N128 C16 32×32 the forward ran 3–6 % faster than with three),
    /// 14 of two (13 paired); 6 with AVX2 (5 with two sources).</summary>
    private static int MaxTilePixels<TI, TV>(bool paired, int vectors, int sources) where TI : struct, ISimd<TV> where TV : struct =>
        Math.Min(vectors == 1 ? 17 : 14, (TI.Registers - (paired ? 2 : 1) * vectors - sources) / vectors);

    /// <summary>
    /// One output row of a 2×2 convolution over two pixel-major input rows ty = 0 and 1 (K channels per pixel):
    /// <c>out[p] = bias + Σ_{ty,tx} Σ_k in_ty[(S·p + tx)·K + k] · w[2ty + tx][k]</c> for p &lt; <paramref name="pixels"/>,
    /// stride S, and the first <paramref name="laneCount"/> (a multiple of 16) of the <paramref name="lanes"/> output
    /// channels that the weight rows and the output pixels hold. Each quarter of the input channels is read from its own
    /// place: <c>groups[4·ty + q]</c> holds channels [q·K/4, (q + 1)·K/4) of row ty at the row's first pixel — the
    /// channel groups of symmetric padding, each read from its own input row and column, so no padded row is made.
    /// </summary>
    public static void ConvRowGroups<TI, TV, TK, TS>(float** groups, float* w, long lanes, long laneCount, float* bias, float* output,
        int pixels) where TI : struct, ISimd<TV> where TV : struct where TK : struct, IConst where TS : struct, IConst
    {
        var src = stackalloc float*[16];
        for (var i = 0; i < 16; i++) src[i] = groups[i % 8];
        if (TI.RowTileVectors(laneCount) == 2) Row<TI, TV, TK, TS, C4, C2, C1>(src, w, lanes, laneCount, bias, output, lanes, pixels);
        else Row<TI, TV, TK, TS, C4, C1, C1>(src, w, lanes, laneCount, bias, output, lanes, pixels);
    }

    /// <summary>
    /// Two lane vectors of a stride-1 2×2 convolution row without bias, each over its own pair of input rows:
    /// lanes [0, W) (W = <see cref="ISimd{TV}.Width"/>) of <paramref name="output"/> from <paramref name="row0"/> and
    /// <paramref name="row1"/>, lanes [W, 2W) from <paramref name="row0b"/> and <paramref name="row1b"/>, each as
    /// <see cref="ConvRowGroups{TI,TV,TK,TS}"/> computes it. For inputs whose channel groups are shifted differently, one
    /// vector each: the tile then has the accumulators and the weight loads per multiply-add of two lane vectors.
    /// </summary>
    public static void ConvRowPair<TI, TV, TK>(float* row0, float* row1, float* row0b, float* row1b, float* w, long lanes, float* output,
        int pixels) where TI : struct, ISimd<TV> where TV : struct where TK : struct, IConst
    {
        var src = stackalloc float*[16];
        for (var i = 0; i < 16; i++) src[i] = (i < 8 ? (i < 4 ? row0 : row1) : (i < 12 ? row0b : row1b)) + i % 4 * (TK.Value / 4);
        Row<TI, TV, TK, C1, C4, C2, C2>(src, w, lanes, 2 * TI.Width, null, output, lanes, pixels);
    }

    /// <summary>
    /// One tap over one pixel-major input row: <c>out[p · outStride] = Σ_k src[p·K + k] · w[k]</c> for
    /// p &lt; <paramref name="pixels"/> (a 1×1 convolution; with stride 2 each output pixel of the input gradient of a
    /// 2×2 convolution receives exactly one tap).
    /// </summary>
    public static void TapRow<TI, TV, TK>(float* src, float* w, long lanes, float* output, long outStride, int pixels)
        where TI : struct, ISimd<TV> where TV : struct where TK : struct, IConst
    {
        var rows = stackalloc float*[16];
        for (var i = 0; i < 16; i++) rows[i] = src + i % 4 * (TK.Value / 4);
        if (TI.RowTileVectors(lanes) == 2) Row<TI, TV, TK, C1, C1, C2, C1>(rows, w, lanes, lanes, null, output, outStride, pixels);
        else Row<TI, TV, TK, C1, C1, C1, C1>(rows, w, lanes, lanes, null, output, outStride, pixels);
    }

    /// <summary>Cuts a row into near-equal tiles of at most <see cref="MaxTilePixels"/> pixels (so no tile runs with a
    /// fraction of the registers) and sweeps each over the lane blocks of the first <paramref name="laneCount"/> of
    /// <paramref name="lanes"/> output channels. <paramref name="src"/> holds the tile inputs'
    /// <c>[lane vector][ty][quarter]</c> places at the row's first pixel (<see cref="RowTile{TI,TV,TR,TK,TS,TT,TVectors,TSources}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<TI, TV, TK, TS, TT, TVectors, TSources>(float** src, float* w, long lanes, long laneCount, float* bias,
        float* output, long outStride, int pixels) where TI : struct, ISimd<TV> where TV : struct
        where TK : struct, IConst where TS : struct, IConst where TT : struct, IConst where TVectors : struct, IConst where TSources : struct, IConst
    {
        long step = TS.Value * TK.Value;
        var most = MaxTilePixels<TI, TV>(Paired<TI, TV, TS, TT>(), TVectors.Value, TSources.Value);
        var tiles = (pixels + most - 1) / most;
        var at = stackalloc float*[16];
        for (int t = 0, p = 0; t < tiles; t++)
        {
            var r = (pixels - p) / (tiles - t);
            for (var i = 0; i < 16; i++) at[i] = src[i] + p * step;
            for (long lb = 0; lb < laneCount; lb += TI.Width * TVectors.Value)
            {
                TV init = bias is null ? default : TI.Load(bias + lb),
                    init1 = TVectors.Value == 1 ? init : bias is null ? default : TI.Load(bias + lb + TI.Width);
                var o = output + p * outStride + lb;
                var wl = w + lb;
                switch (r)
                {
                    case 1: RowTile<TI, TV, C1, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 2: RowTile<TI, TV, C2, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 3: RowTile<TI, TV, C3, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 4: RowTile<TI, TV, C4, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 5: RowTile<TI, TV, C5, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 6: RowTile<TI, TV, C6, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 7: RowTile<TI, TV, C7, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 8: RowTile<TI, TV, C8, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 9: RowTile<TI, TV, C9, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 10: RowTile<TI, TV, C10, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 11: RowTile<TI, TV, C11, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 12: RowTile<TI, TV, C12, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 13: RowTile<TI, TV, C13, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 14: RowTile<TI, TV, C14, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 15: RowTile<TI, TV, C15, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    case 16: RowTile<TI, TV, C16, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                    default: RowTile<TI, TV, C17, TK, TS, TT, TVectors, TSources>(at, wl, lanes, o, outStride, init, init1); break;
                }
            }
            p += r;
        }
    }

    /// <summary>
    /// Weight-gradient tile: <c>acc[j][o] += Σ_rows Σ_p in[p·K + j] · gy[p][o]</c> for a tile of A accumulators
    /// (<see cref="ISimd{TV}.WeightTileAccumulators"/>: 16 with AVX-512, 8 with AVX2): <c>A / V</c> input channels j ×
    /// <c>V</c> vectors of output lanes o (V = 1, 2 or 4; more lanes per tile means fewer loads per multiply-add: with
    /// AVX-512, 17, 10 or 8 per 16). The input is pixel-major with <paramref name="k"/> floats per pixel and
    /// <paramref name="srcRowStride"/> floats between rows; quarter q of the tile's input channels is read at
    /// <paramref name="src"/>[q] (the channel groups of symmetric padding, each from its own row and column); <paramref name="gy"/> has
    /// <paramref name="lanes"/> floats per pixel (at the tile's first lane) and <paramref name="gyRowStride"/> between
    /// rows; <paramref name="acc"/> rows are <paramref name="lanes"/> floats apart. The sums start from zero and are added
    /// to the accumulators at the end: two-level summation, so a long reduction (every pixel of a chunk) rounds like a sum
    /// of band subtotals, as accurately as oneDNN's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightTile<TI, TV, TVectors>(float** src, long k, long srcRowStride, float* gy, long lanes, long gyRowStride,
        int pixels, int rows, float* acc) where TI : struct, ISimd<TV> where TV : struct where TVectors : struct, IConst
    {
        int v = TVectors.Value, n = TI.WeightTileAccumulators, width = TI.Width, per = n / v / 4;   // channels per quarter
        TV a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default,
            a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        for (var r = 0; r < rows; r++, gy += gyRowStride)
        {
            float* s0 = src[0] + r * srcRowStride, s1 = src[1] + r * srcRowStride, s2 = src[2] + r * srcRowStride, s3 = src[3] + r * srcRowStride;
            var gp = gy;
            for (var p = 0; p < pixels; p++, s0 += k, s1 += k, s2 += k, s3 += k, gp += lanes)
            {
                var g0 = TI.Load(gp);
                if (v == 1)
                {
                    a0 = Fma<TI, TV>(In(s0, s1, s2, s3, 0, per), g0, a0); a1 = Fma<TI, TV>(In(s0, s1, s2, s3, 1, per), g0, a1);
                    a2 = Fma<TI, TV>(In(s0, s1, s2, s3, 2, per), g0, a2); a3 = Fma<TI, TV>(In(s0, s1, s2, s3, 3, per), g0, a3);
                    a4 = Fma<TI, TV>(In(s0, s1, s2, s3, 4, per), g0, a4); a5 = Fma<TI, TV>(In(s0, s1, s2, s3, 5, per), g0, a5);
                    a6 = Fma<TI, TV>(In(s0, s1, s2, s3, 6, per), g0, a6); a7 = Fma<TI, TV>(In(s0, s1, s2, s3, 7, per), g0, a7);
                    if (n > 8)
                    {
                        a8 = Fma<TI, TV>(In(s0, s1, s2, s3, 8, per), g0, a8); a9 = Fma<TI, TV>(In(s0, s1, s2, s3, 9, per), g0, a9);
                        a10 = Fma<TI, TV>(In(s0, s1, s2, s3, 10, per), g0, a10); a11 = Fma<TI, TV>(In(s0, s1, s2, s3, 11, per), g0, a11);
                        a12 = Fma<TI, TV>(In(s0, s1, s2, s3, 12, per), g0, a12); a13 = Fma<TI, TV>(In(s0, s1, s2, s3, 13, per), g0, a13);
                        a14 = Fma<TI, TV>(In(s0, s1, s2, s3, 14, per), g0, a14); a15 = Fma<TI, TV>(In(s0, s1, s2, s3, 15, per), g0, a15);
                    }
                }
                else if (v == 2)
                {
                    var g1 = TI.Load(gp + width);
                    var b = TI.Splat(In(s0, s1, s2, s3, 0, per)); a0 = TI.Fma(b, g0, a0); a1 = TI.Fma(b, g1, a1);
                    b = TI.Splat(In(s0, s1, s2, s3, 1, per)); a2 = TI.Fma(b, g0, a2); a3 = TI.Fma(b, g1, a3);
                    b = TI.Splat(In(s0, s1, s2, s3, 2, per)); a4 = TI.Fma(b, g0, a4); a5 = TI.Fma(b, g1, a5);
                    b = TI.Splat(In(s0, s1, s2, s3, 3, per)); a6 = TI.Fma(b, g0, a6); a7 = TI.Fma(b, g1, a7);
                    if (n > 8)
                    {
                        b = TI.Splat(In(s0, s1, s2, s3, 4, per)); a8 = TI.Fma(b, g0, a8); a9 = TI.Fma(b, g1, a9);
                        b = TI.Splat(In(s0, s1, s2, s3, 5, per)); a10 = TI.Fma(b, g0, a10); a11 = TI.Fma(b, g1, a11);
                        b = TI.Splat(In(s0, s1, s2, s3, 6, per)); a12 = TI.Fma(b, g0, a12); a13 = TI.Fma(b, g1, a13);
                        b = TI.Splat(In(s0, s1, s2, s3, 7, per)); a14 = TI.Fma(b, g0, a14); a15 = TI.Fma(b, g1, a15);
                    }
                }
                else
                {
                    TV g1 = TI.Load(gp + width), g2 = TI.Load(gp + 2 * width), g3 = TI.Load(gp + 3 * width);
                    var b = TI.Splat(In(s0, s1, s2, s3, 0, per));
                    a0 = TI.Fma(b, g0, a0); a1 = TI.Fma(b, g1, a1); a2 = TI.Fma(b, g2, a2); a3 = TI.Fma(b, g3, a3);
                    b = TI.Splat(In(s0, s1, s2, s3, 1, per));
                    a4 = TI.Fma(b, g0, a4); a5 = TI.Fma(b, g1, a5); a6 = TI.Fma(b, g2, a6); a7 = TI.Fma(b, g3, a7);
                    if (n > 8)
                    {
                        b = TI.Splat(In(s0, s1, s2, s3, 2, per));
                        a8 = TI.Fma(b, g0, a8); a9 = TI.Fma(b, g1, a9); a10 = TI.Fma(b, g2, a10); a11 = TI.Fma(b, g3, a11);
                        b = TI.Splat(In(s0, s1, s2, s3, 3, per));
                        a12 = TI.Fma(b, g0, a12); a13 = TI.Fma(b, g1, a13); a14 = TI.Fma(b, g2, a14); a15 = TI.Fma(b, g3, a15);
                    }
                }
            }
        }
        // Accumulator j holds input channel j / V and lane vector j % V.
        Add<TI, TV>(acc, 0, a0); Add<TI, TV>(acc, At(1, v, width, lanes), a1); Add<TI, TV>(acc, At(2, v, width, lanes), a2);
        Add<TI, TV>(acc, At(3, v, width, lanes), a3); Add<TI, TV>(acc, At(4, v, width, lanes), a4); Add<TI, TV>(acc, At(5, v, width, lanes), a5);
        Add<TI, TV>(acc, At(6, v, width, lanes), a6); Add<TI, TV>(acc, At(7, v, width, lanes), a7);
        if (n <= 8) return;
        Add<TI, TV>(acc, At(8, v, width, lanes), a8); Add<TI, TV>(acc, At(9, v, width, lanes), a9); Add<TI, TV>(acc, At(10, v, width, lanes), a10);
        Add<TI, TV>(acc, At(11, v, width, lanes), a11); Add<TI, TV>(acc, At(12, v, width, lanes), a12); Add<TI, TV>(acc, At(13, v, width, lanes), a13);
        Add<TI, TV>(acc, At(14, v, width, lanes), a14); Add<TI, TV>(acc, At(15, v, width, lanes), a15);
    }

    /// <summary>Offset of accumulator j of a weight tile with <paramref name="v"/> lane vectors of
    /// <paramref name="width"/> floats.</summary>
    private static long At(int j, int v, int width, long lanes) => j / v * lanes + j % v * width;

    /// <summary>Input channel <paramref name="j"/> of a weight tile whose quarters of <paramref name="per"/> channels each
    /// are read at <paramref name="s0"/>…<paramref name="s3"/>; both are constants where it is inlined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float In(float* s0, float* s1, float* s2, float* s3, int j, int per) =>
        (j / per == 0 ? s0 : j / per == 1 ? s1 : j / per == 2 ? s2 : s3)[j % per];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Fma<TI, TV>(float s, TV g, TV a) where TI : struct, ISimd<TV> where TV : struct => TI.Fma(TI.Splat(s), g, a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add<TI, TV>(float* acc, long offset, TV sum) where TI : struct, ISimd<TV> where TV : struct =>
        TI.Store(TI.Add(TI.Load(acc + offset), sum), acc + offset);
}
