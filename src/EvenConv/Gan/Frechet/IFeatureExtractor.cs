using static TorchSharp.torch;

namespace EvenConv.Gan.Frechet;

/// <summary>Maps images to the feature vectors whose Gaussian fits the Fréchet distance compares.</summary>
public interface IFeatureExtractor : IDisposable
{
    /// <summary>The name of the distance this extractor gives: "FID" (Inception-v3) or "FD-&lt;dataset&gt;" (a proxy).</summary>
    string MetricName { get; }

    /// <summary>Identifies the extractor and its weights, for caching real-image statistics.</summary>
    string CacheKey { get; }

    /// <summary>Length of a feature vector.</summary>
    int FeatureDimension { get; }

    /// <summary>Features (N, d) of images (N, C, H, W) with values in [−1, 1]; runs without gradients.</summary>
    Tensor Features(Tensor images);
}
