using static TorchSharp.torch;

namespace EvenConv.Gan.Frechet;

/// <summary>
/// The Fréchet (2-Wasserstein) distance between two Gaussians, in float64:
/// d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½.
/// The symmetric form keeps every matrix symmetric positive semi-definite, so both square roots come from a
/// symmetric eigendecomposition with eigenvalues clipped at zero (paper.md Decision 8). Unlike the common
/// <c>sqrtm(Σ₁Σ₂)</c> route it never produces complex parts or NaN for singular covariances (fewer samples than
/// features).
/// </summary>
public static class FrechetDistance
{
    /// <summary>The distance between the two fits (never negative).</summary>
    public static double Compute(GaussianStats a, GaussianStats b)
    {
        if (a.Dimension != b.Dimension)
            throw new ArgumentException($"The statistics have different feature dimensions ({a.Dimension} and {b.Dimension}): they come from different feature extractors.");
        var d = a.Dimension;
        using var scope = NewDisposeScope();
        var mu1 = tensor(a.Mean, dtype: float64);
        var mu2 = tensor(b.Mean, dtype: float64);
        var s1 = Symmetric(tensor(a.Covariance, [d, d], dtype: float64));
        var s2 = Symmetric(tensor(b.Covariance, [d, d], dtype: float64));
        var root1 = SquareRoot(s1);
        var traceOfRoot = linalg.eigvalsh(Symmetric(root1.matmul(s2).matmul(root1))).clamp_min(0).sqrt().sum();
        var diff = mu1 - mu2;
        var value = (diff.dot(diff) + s1.trace() + s2.trace() - 2 * traceOfRoot).item<double>();
        return Math.Max(0, value);
    }

    /// <summary>The principal square root of a symmetric positive semi-definite matrix, via eigendecomposition.</summary>
    public static Tensor SquareRoot(Tensor symmetric)
    {
        var (values, vectors) = linalg.eigh(symmetric);
        return vectors.mul(values.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors.t());
    }

    private static Tensor Symmetric(Tensor m) => (m + m.t()) / 2;
}
