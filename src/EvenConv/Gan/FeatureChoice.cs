using EvenConv.Gan.Frechet;

namespace EvenConv.Gan;

/// <summary>
/// Which feature extractor scores a generator: parsed from "auto" (the data set's feature network from
/// <c>gan feature-net</c>, default location), "none", "featurenet:FILE" or "inception:FILE".
/// </summary>
public sealed record FeatureChoice(string Kind, string? Path)
{
    /// <summary>Parses the command-line form; throws <see cref="ArgumentException"/> listing the accepted forms.</summary>
    public static FeatureChoice Parse(string text)
    {
        var t = text.Trim();
        if (t.Equals("auto", StringComparison.OrdinalIgnoreCase)) return new("auto", null);
        if (t.Equals("none", StringComparison.OrdinalIgnoreCase)) return new("none", null);
        var colon = t.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && t[..colon].ToLowerInvariant() is "featurenet" or "inception" && colon < t.Length - 1)
            return new(t[..colon].ToLowerInvariant(), t[(colon + 1)..]);
        throw new ArgumentException($"--features {text}: use auto (the data set's feature network), none, featurenet:FILE or inception:FILE (Inception-v3 weights, gives FID).");
    }

    /// <summary>Opens the extractor for <paramref name="images"/>, or returns null for "none" and for "auto" when the
    /// data set has no feature network yet (<paramref name="missing"/> then says how to make one).</summary>
    public IFeatureExtractor? Open(GanImages images, out string? missing)
    {
        missing = null;
        switch (Kind)
        {
            case "none":
                return null;
            case "inception":
                return new InceptionFeatures(Path!);
            default:
                var path = Path ?? FrechetEvaluation.DefaultFeatureNetPath(images.Data.Name);
                if (Kind == "auto" && !File.Exists(path))
                {
                    missing = $"no feature network for {FeatureNet.DatasetLabel(images.Data.Name)} at {path}; train one with `evenconv gan feature-net --data {FeatureNet.DatasetLabel(images.Data.Name)}` (a few minutes) or pass --features inception:FILE";
                    return null;
                }
                var net = FeatureNet.Load(path);
                if (net.Info.Channels != images.Channels || net.Info.Resolution != images.Resolution)
                {
                    var info = net.Info;
                    net.Dispose();
                    throw new EvenConvException($"The feature network {path} was trained on {info.Channels}×{info.Resolution}×{info.Resolution} images but the GAN makes {images.Channels}×{images.Resolution}×{images.Resolution}; train one at this resolution with `evenconv gan feature-net --resolution {images.Resolution} --out FILE` and pass --features featurenet:FILE.");
                }
                return net;
        }
    }
}
