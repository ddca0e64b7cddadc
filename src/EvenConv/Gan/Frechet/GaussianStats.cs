using EvenConv.IO;
using static TorchSharp.torch;

namespace EvenConv.Gan.Frechet;

/// <summary>
/// A Gaussian fit of feature vectors: the mean and the unbiased covariance (divisor N−1), in float64, as used by
/// the Fréchet distance. Build it in one go with <see cref="FromFeatures"/> or batch by batch with
/// <see cref="Accumulator"/>.
/// </summary>
public sealed class GaussianStats
{
    private const string FileMagic = "evenconv-gaussian-stats/1";

    /// <summary>Wraps a mean (d) and a covariance (d×d, row-major) of <paramref name="count"/> samples.</summary>
    public GaussianStats(double[] mean, double[] covariance, long count)
    {
        if (covariance.Length != mean.Length * mean.Length)
            throw new ArgumentException($"A covariance of {mean.Length} features has {mean.Length * mean.Length} entries, not {covariance.Length}.", nameof(covariance));
        (Mean, Covariance, Count) = (mean, covariance, count);
    }

    /// <summary>Feature dimension d.</summary>
    public int Dimension => Mean.Length;

    /// <summary>Mean feature vector.</summary>
    public double[] Mean { get; }

    /// <summary>Covariance, d×d row-major.</summary>
    public double[] Covariance { get; }

    /// <summary>Number of samples behind the fit.</summary>
    public long Count { get; }

    /// <summary>The fit of the rows of <paramref name="features"/> (N, d).</summary>
    public static GaussianStats FromFeatures(Tensor features)
    {
        var acc = new Accumulator((int)features.shape[1]);
        acc.Add(features);
        return acc.ToStats();
    }

    /// <summary>Writes the statistics to <paramref name="path"/>, atomically.</summary>
    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(FileMagic);
        w.Write(Dimension);
        w.Write(Count);
        foreach (var v in Mean) w.Write(v);
        foreach (var v in Covariance) w.Write(v);
    });

    /// <summary>Reads statistics written by <see cref="Save"/>.</summary>
    public static GaussianStats Load(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        try
        {
            if (r.ReadString() != FileMagic) throw new InvalidDataException("wrong file type");
            var d = r.ReadInt32();
            var count = r.ReadInt64();
            var mean = new double[d];
            var cov = new double[(long)d * d];
            for (var i = 0; i < mean.Length; i++) mean[i] = r.ReadDouble();
            for (var i = 0; i < cov.Length; i++) cov[i] = r.ReadDouble();
            return new GaussianStats(mean, cov, count);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
        {
            throw new EvenConvException($"{path} is not a readable statistics file ({e.Message}); delete it and it will be recomputed.", e);
        }
    }

    /// <summary>
    /// Sums features batch by batch in float64. Sums are taken about the first batch's mean, so that the covariance
    /// (sum of outer products minus N·mean·meanᵀ) does not lose digits to cancellation when features have large means.
    /// </summary>
    public sealed class Accumulator(int dimension) : IDisposable
    {
        private readonly Tensor _sum = zeros(dimension, dtype: float64);
        private readonly Tensor _outer = zeros(dimension, dimension, dtype: float64);
        private Tensor? _shift;
        private long _count;

        /// <summary>Adds the rows of <paramref name="features"/> (N, d).</summary>
        public void Add(Tensor features)
        {
            if (features.dim() != 2 || features.shape[1] != _sum.shape[0])
                throw new ArgumentException($"Expected features of shape (N, {_sum.shape[0]}), got [{string.Join(", ", features.shape)}].", nameof(features));
            if (features.shape[0] == 0) return;
            using var scope = NewDisposeScope();
            var f = features.detach().to(float64);
            _shift ??= f.mean([0]).DetachFromDisposeScope();
            f = f - _shift;
            _sum.add_(f.sum(0L));
            _outer.add_(f.t().matmul(f));
            _count += f.shape[0];
        }

        /// <summary>The mean and unbiased covariance of everything added.</summary>
        public GaussianStats ToStats()
        {
            if (_count < 2) throw new InvalidOperationException($"A covariance needs at least two samples; {_count} were added.");
            using var scope = NewDisposeScope();
            var centred = _sum / _count;
            var cov = (_outer - _count * outer(centred, centred)) / (_count - 1);
            var mean = centred + _shift!;
            return new GaussianStats(mean.data<double>().ToArray(), cov.contiguous().data<double>().ToArray(), _count);
        }

        public void Dispose()
        {
            _sum.Dispose();
            _outer.Dispose();
            _shift?.Dispose();
        }
    }
}
