using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// The vector instructions the fused C2sp kernels are written against, as a type parameter: every kernel is generic
/// over an <see cref="ISimd{TV}"/> struct and its vector type, so one source compiles to AVX-512 code
/// (<see cref="Simd512"/>: 16 floats, 32 registers) and to AVX2 code (<see cref="Simd256"/>: 8 floats, 16 registers).
/// The JIT compiles each instantiation separately and inlines these members, so the generic code is the same machine
/// code a hand-written copy per width would be. The register-tile sizes are members too: they follow from the
/// register count, not the width.
/// </summary>
internal unsafe interface ISimd<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Width { get; }

    /// <summary>Vector registers: what the register tiles are sized to fill.</summary>
    static abstract int Registers { get; }

    /// <summary>Lane vectors per pixel of a row tile (1 or 2) for <paramref name="lanes"/> output channels (a multiple
    /// of 16): each broadcast input feeds that many multiply-adds.</summary>
    static abstract int RowTileVectors(long lanes);

    /// <summary>Whether a row tile at stride 1 feeds each broadcast input to both taps of a kernel row
    /// (<see cref="ConvTiles"/>): fewer loads per multiply-add, at the cost of one more weight vector per lane vector.</summary>
    static abstract bool PairTaps { get; }

    /// <summary>Accumulators a weight-gradient tile keeps in registers, leaving room for its upstream-gradient vectors
    /// and the broadcast input.</summary>
    static abstract int WeightTileAccumulators { get; }

    /// <summary>Lane vectors per weight-gradient tile for <paramref name="lanes"/> output channels (a multiple of 16):
    /// more lanes per broadcast input means fewer loads per multiply-add.</summary>
    static abstract int WeightTileVectors(long lanes);

    static abstract TV Load(float* p);
    static abstract void Store(TV value, float* p);
    static abstract TV Splat(float value);

    /// <summary><c>a · b + addend</c>, rounded once.</summary>
    static abstract TV Fma(TV a, TV b, TV addend);

    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);

    /// <summary><c>min(max(value, 0), upper)</c>: ReLU, or ReLU6 with an upper bound of 6.</summary>
    static abstract TV Clamp(TV value, TV upper);

    /// <summary><paramref name="grad"/> where <c>0 &lt; a &lt; upper</c> (the clamp's slope is 1), else 0.</summary>
    static abstract TV WhereOpen(TV grad, TV a, TV upper);

    /// <summary>Adds the floats of <paramref name="value"/> to as many double sums at <paramref name="sums"/>.</summary>
    static abstract void AddTo(double* sums, TV value);
}

/// <summary>Which instantiation of the kernels this CPU runs, decided once per process.</summary>
internal static class Simd
{
    /// <summary>AVX-512 with 512-bit vectors: <see cref="Simd512"/>. Where the runtime declines 512-bit vectors
    /// (<c>DOTNET_EnableAVX512=0</c>, or CPUs on which .NET prefers 256 bits by default to avoid frequency throttling;
    /// <c>DOTNET_PreferredVectorBitWidth=512</c> overrides that), the AVX2 code runs.</summary>
    public static readonly bool Wide = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>AVX2 with FMA, and no AVX-512: <see cref="Simd256"/>.</summary>
    public static readonly bool Narrow = !Wide && Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>True where the fused kernels run at all.</summary>
    public static bool Available => Wide || Narrow;

    /// <summary>The instruction set the kernels run with here, for messages: "AVX-512", "AVX2" or null.</summary>
    public static string? Name => Wide ? "AVX-512" : Narrow ? "AVX2" : null;
}

/// <summary>AVX-512: 32 zmm registers, so row tiles of up to 14 pixels × one or two lane vectors (two wherever the
/// output channels are a multiple of 32: a weight load then feeds twice the multiply-adds; at N128 C64 8×8 fwd+bwd went
/// from 0.65 to 0.60× C3) and 16 accumulators per weight tile.</summary>
internal readonly unsafe struct Simd512 : ISimd<Vector512<float>>
{
    public static int Width => 16;
    public static int Registers => 32;
    public static int RowTileVectors(long lanes) => lanes % 32 == 0 ? 2 : 1;
    // Zen 5, one core, tiles on L1-resident rows: 16 channels 32 pixels 113–200 GFLOP/s unpaired (a broadcast per
    // multiply-add), 217–225 paired; two lane vectors 224 → 226–235 paired; the FMA peak is ≈ 230.
    public static bool PairTaps => true;
    public static int WeightTileAccumulators => 16;
    public static int WeightTileVectors(long lanes) => lanes % 64 == 0 ? 4 : lanes % 32 == 0 ? 2 : 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, float* p) => value.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> addend) => Vector512.FusedMultiplyAdd(a, b, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clamp(Vector512<float> value, Vector512<float> upper) =>
        Vector512.Min(Vector512.Max(value, Vector512<float>.Zero), upper);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WhereOpen(Vector512<float> grad, Vector512<float> a, Vector512<float> upper) =>
        grad & Vector512.GreaterThan(a, Vector512<float>.Zero) & Vector512.LessThan(a, upper);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(double* sums, Vector512<float> value)
    {
        var (lower, upper) = Vector512.Widen(value);
        (Vector512.Load(sums) + lower).Store(sums);
        (Vector512.Load(sums + 8) + upper).Store(sums + 8);
    }
}

/// <summary>AVX2 with FMA: 16 ymm registers, so row tiles of 6 pixels × 16 lanes (12 accumulators, two weight vectors
/// and a broadcast: 8 loads per 12 multiply-adds, against 13 for 12 pixels × 8 lanes; 10 % faster) and 8 accumulators
/// per weight tile (8 independent sums still cover the FMA latency of two pipes).</summary>
internal readonly unsafe struct Simd256 : ISimd<Vector256<float>>
{
    public static int Width => 8;
    public static int Registers => 16;
    public static int RowTileVectors(long lanes) => 2;
    // Two lane vectors already load a broadcast per two multiply-adds; pairing leaves room for 5 pixels instead of 6, and
    // measured 104–112 GFLOP/s against 110–115 unpaired (AVX2 code on a Zen 5 core, peak ≈ 115).
    public static bool PairTaps => false;
    public static int WeightTileAccumulators => 8;
    // Measured at the CIFAR shapes (fwd+bwd): 8 channels × 8 lanes is 7 % faster than 4 × 16 at 16 output channels,
    // 4 × 16 is 9 % faster than 8 × 8 at 64; 2 × 32 is slower at both.
    public static int WeightTileVectors(long lanes) => lanes == 16 ? 1 : 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, float* p) => value.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> addend) => Vector256.FusedMultiplyAdd(a, b, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamp(Vector256<float> value, Vector256<float> upper) =>
        Vector256.Min(Vector256.Max(value, Vector256<float>.Zero), upper);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WhereOpen(Vector256<float> grad, Vector256<float> a, Vector256<float> upper) =>
        grad & Vector256.GreaterThan(a, Vector256<float>.Zero) & Vector256.LessThan(a, upper);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(double* sums, Vector256<float> value)
    {
        var (lower, upper) = Vector256.Widen(value);
        (Vector256.Load(sums) + lower).Store(sums);
        (Vector256.Load(sums + 4) + upper).Store(sums + 4);
    }
}
