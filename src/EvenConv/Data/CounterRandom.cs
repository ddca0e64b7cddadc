namespace EvenConv.Data;

/// <summary>
/// A small SplitMix64 generator whose starting state is a hash of (seed, epoch, index, stream). Every random decision
/// of the data pipeline draws from one keyed by where it happens (epoch's shuffle, sample i of epoch e, mixup of batch
/// b), so a run resumed at any batch — or samples prepared in parallel — see exactly the numbers an uninterrupted,
/// sequential run sees, with no generator state to save. The algorithm is fixed here, so results do not depend on the
/// .NET version.
/// </summary>
public struct CounterRandom
{
    private ulong _state;

    /// <summary>A generator for the given key.</summary>
    public CounterRandom(ulong seed, long epoch, long index, ulong stream) =>
        _state = Mix(seed ^ Mix((ulong)epoch + 0x9E3779B97F4A7C15UL * Mix((ulong)index ^ Mix(stream + 0x632BE59BD9B4E019UL))));

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int Next(int n) => (int)(((NextUInt64() >> 32) * (ulong)n) >> 32);

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public double NextGaussian()
    {
        var u = 1.0 - NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * NextDouble());
    }

    /// <summary>A Gamma(shape, 1) draw (Marsaglia–Tsang; shapes below 1 by the U^(1/a) boost).</summary>
    public double NextGamma(double shape)
    {
        if (shape < 1) return NextGamma(shape + 1) * Math.Pow(1.0 - NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do { x = NextGaussian(); v = 1 + c * x; } while (v <= 0);
            v = v * v * v;
            var u = 1.0 - NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }

    /// <summary>A Beta(a, b) draw.</summary>
    public double NextBeta(double a, double b)
    {
        var x = NextGamma(a);
        return x / (x + NextGamma(b));
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
