using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Reference;

/// <summary>Moves data between C# arrays and tensors, compares results, and differentiates numerically.</summary>
internal static class TestTensors
{
    /// <summary>Uniform values in [−1, 1): a fixed seed gives the same data on every run.</summary>
    public static double[,,,] Random(Random rng, int n, int c, int h, int w)
    {
        var a = new double[n, c, h, w];
        var flat = Flat(a);
        for (var i = 0; i < flat.Length; i++) flat[i] = 2 * rng.NextDouble() - 1;
        return FromFlat(flat, n, c, h, w);
    }

    public static double[] RandomVector(Random rng, int length) => Enumerable.Range(0, length).Select(_ => 2 * rng.NextDouble() - 1).ToArray();

    /// <summary>The array as a tensor of the given type and layout.</summary>
    public static Tensor ToTensor(double[,,,] a, ScalarType dtype = ScalarType.Float64, MemoryLayout layout = MemoryLayout.Nchw)
    {
        using var t = tensor(Flat(a), [a.GetLength(0), a.GetLength(1), a.GetLength(2), a.GetLength(3)], ScalarType.Float64);
        using var typed = t.to_type(dtype);
        var result = TensorLayout.To(typed, layout);
        return ReferenceEquals(result, typed) ? typed.clone() : result;
    }

    /// <summary>A 4-D tensor of any layout and type as a float64 array.</summary>
    public static double[,,,] ToArray(Tensor t)
    {
        using var d = t.detach().to_type(ScalarType.Float64).contiguous();
        var s = d.shape;
        return FromFlat(d.data<double>().ToArray(), (int)s[0], (int)s[1], (int)s[2], (int)s[3]);
    }

    /// <summary>A 1-D tensor as a float64 array.</summary>
    public static double[] ToVector(Tensor t)
    {
        using var d = t.detach().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }

    /// <summary>Row-major copy of any array of doubles.</summary>
    public static double[] Flat(Array a) => a.Cast<double>().ToArray();

    /// <summary><paramref name="flat"/> in the shape of <paramref name="like"/>.</summary>
    public static double[,,,] ShapedLike(double[] flat, double[,,,] like) =>
        FromFlat(flat, like.GetLength(0), like.GetLength(1), like.GetLength(2), like.GetLength(3));

    public static double[,,,] FromFlat(double[] flat, int n, int c, int h, int w)
    {
        var a = new double[n, c, h, w];
        Buffer.BlockCopy(flat, 0, a, 0, flat.Length * sizeof(double));
        return a;
    }

    /// <summary>Asserts equal shapes and |expected − actual| ≤ tolerance · max(1, |expected|) everywhere.</summary>
    public static void AssertClose(Array expected, Array actual, double tolerance, string context)
    {
        var expectedShape = Enumerable.Range(0, expected.Rank).Select(expected.GetLength).ToArray();
        var actualShape = Enumerable.Range(0, actual.Rank).Select(actual.GetLength).ToArray();
        Assert.True(expectedShape.SequenceEqual(actualShape),
            $"{context}: shape [{string.Join(", ", actualShape)}], expected [{string.Join(", ", expectedShape)}]");
        double[] e = Flat(expected), a = Flat(actual);
        var worst = Enumerable.Range(0, e.Length).Select(i => (Index: i, Error: Math.Abs(e[i] - a[i]) / Math.Max(1, Math.Abs(e[i]))))
            .DefaultIfEmpty().MaxBy(p => p.Error);
        Assert.True(worst.Error <= tolerance,
            $"{context}: element {worst.Index} is {a[worst.Index]:R}, expected {e[worst.Index]:R} (relative error {worst.Error:E2} > {tolerance:E0})");
    }

    /// <summary>Central-difference derivatives of <paramref name="f"/> at <paramref name="at"/> along the given coordinates.</summary>
    public static double[] CentralDifferences(Func<double[], double> f, double[] at, IReadOnlyList<int> coordinates, double step = 1e-3)
    {
        var x = (double[])at.Clone();
        return coordinates.Select(i =>
        {
            var original = x[i];
            x[i] = original + step;
            var plus = f(x);
            x[i] = original - step;
            var minus = f(x);
            x[i] = original;
            return (plus - minus) / (2 * step);
        }).ToArray();
    }

    /// <summary>Up to <paramref name="count"/> coordinates spread evenly over 0 … length−1, always including both ends.</summary>
    public static int[] Spread(int length, int count) =>
        length <= count ? Enumerable.Range(0, length).ToArray()
            : Enumerable.Range(0, count).Select(i => (int)((long)i * (length - 1) / (count - 1))).Distinct().ToArray();

    /// <summary>The given row-major coordinates of <paramref name="a"/>.</summary>
    public static double[] Pick(Array a, IEnumerable<int> coordinates)
    {
        var flat = Flat(a);
        return coordinates.Select(i => flat[i]).ToArray();
    }

    /// <summary>Σ y·gy as a double, the scalar whose gradient the tests check.</summary>
    public static double Dot(Tensor y, Tensor gy)
    {
        using var p = (y * gy).sum();
        return p.to_type(ScalarType.Float64).item<double>();
    }
}
