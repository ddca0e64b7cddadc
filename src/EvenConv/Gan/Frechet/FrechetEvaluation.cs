using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Gan.Frechet;

/// <summary>A Fréchet distance with the name it must be reported under.</summary>
/// <param name="Metric">"FID" or "FD-&lt;dataset&gt;".</param>
/// <param name="Value">The distance.</param>
/// <param name="Samples">Real and generated images behind each Gaussian fit.</param>
public sealed record FrechetScore(string Metric, double Value, int Samples);

/// <summary>
/// Fréchet distances between a generator and a data set: Gaussian fits of features of N real and N generated
/// images. Real-image statistics are cached per data set, extractor (weights included), resolution and N, under
/// <see cref="CacheRoot"/>, as files written atomically.
/// </summary>
public static class FrechetEvaluation
{
    /// <summary>EvenConv's cache folder: <c>$EVENCONV_CACHE</c>, else <c>$XDG_CACHE_HOME/evenconv</c>, else <c>~/.cache/evenconv</c>.</summary>
    public static string CacheRoot =>
        Environment.GetEnvironmentVariable("EVENCONV_CACHE") is { Length: > 0 } dir ? dir
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "evenconv");

    /// <summary>Where <c>gan feature-net</c> keeps the feature network of a data set by default.</summary>
    public static string DefaultFeatureNetPath(string datasetName) =>
        Path.Combine(CacheRoot, "feature-nets", $"{FileKey(FeatureNet.DatasetLabel(datasetName))}.bin");

    /// <summary>Statistics of <paramref name="count"/> real images (a fixed seeded subset; all if fewer), from the cache when present.</summary>
    public static GaussianStats RealStatistics(GanImages images, IFeatureExtractor extractor, int count, int batchSize = 250)
    {
        var n = Math.Min(count, images.Count);
        var data = images.Data;
        var identity = $"{data.Name}|{data.Count}|{data.Channels}x{data.Height}x{data.Width}";
        var path = Path.Combine(CacheRoot, "frechet-stats",
            $"{FileKey(data.Name)}-{Hash(identity)}-{extractor.CacheKey}-r{images.Resolution}-n{n}.bin");
        if (File.Exists(path)) return GaussianStats.Load(path);
        var order = Enumerable.Range(0, images.Count).ToArray();
        new Random(0).Shuffle(order);
        using var acc = new GaussianStats.Accumulator(extractor.FeatureDimension);
        for (var start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            acc.Add(extractor.Features(images.Batch(order.AsSpan(start, Math.Min(batchSize, n - start)))));
        }
        var stats = acc.ToStats();
        stats.Save(path);
        return stats;
    }

    /// <summary>Statistics of <paramref name="count"/> images from <paramref name="generator"/> (eval mode, noise seeded by <paramref name="seed"/>).</summary>
    public static GaussianStats GeneratedStatistics(GanGenerator generator, IFeatureExtractor extractor, int count, int seed = 12345, int batchSize = 250)
    {
        var wasTraining = generator.training;
        generator.eval();
        try
        {
            using var noise = new torch.Generator((ulong)seed);
            using var acc = new GaussianStats.Accumulator(extractor.FeatureDimension);
            using var _ = no_grad();
            for (var start = 0; start < count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                acc.Add(extractor.Features(generator.call(generator.Noise(Math.Min(batchSize, count - start), noise))));
            }
            return acc.ToStats();
        }
        finally { generator.train(wasTraining); }
    }

    /// <summary>The distance between <paramref name="generator"/>'s images and the data set's, over <paramref name="count"/> of each.</summary>
    public static FrechetScore Score(GanGenerator generator, GanImages images, IFeatureExtractor extractor, int count = 10_000)
    {
        var real = RealStatistics(images, extractor, count);
        var fake = GeneratedStatistics(generator, extractor, (int)real.Count);
        return new FrechetScore(extractor.MetricName, FrechetDistance.Compute(real, fake), (int)real.Count);
    }

    /// <summary>A file-name-safe form of a name ("fashion-mnist/train" → "fashion-mnist-train").</summary>
    internal static string FileKey(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? char.ToLowerInvariant(c) : '-').ToArray();
        var key = new string(chars).Trim('-', '.');
        return key.Length == 0 ? "data" : key.Length > 60 ? key[..60] : key;
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];
}
