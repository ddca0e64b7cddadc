using EvenConv.Gan.Frechet;
using static TorchSharp.torch;

namespace EvenConv.Tests.Gan;

public class FrechetDistanceTests
{
    private static GaussianStats Gaussian(double[] mean, double[,] cov)
    {
        var d = mean.Length;
        var flat = new double[d * d];
        for (var i = 0; i < d; i++) for (var j = 0; j < d; j++) flat[i * d + j] = cov[i, j];
        return new GaussianStats(mean, flat, 1000);
    }

    [Fact]
    public void Identical_feature_sets_are_at_distance_zero()
    {
        manual_seed(5);
        using var features = randn(500, 16) * 3 + 1;
        var a = GaussianStats.FromFeatures(features);
        var b = GaussianStats.FromFeatures(features.clone());
        Assert.Equal(0.0, FrechetDistance.Compute(a, b), 8);
    }

    [Fact]
    public void One_dimensional_gaussians_give_the_closed_form()
    {
        // d² = (μ₁ − μ₂)² + (σ₁ − σ₂)²: means 1 and 4, variances 4 and 9 → 9 + 1.
        var d = FrechetDistance.Compute(Gaussian([1.0], new double[,] { { 4 } }), Gaussian([4.0], new double[,] { { 9 } }));
        Assert.Equal(10.0, d, 10);
    }

    [Fact]
    public void Non_commuting_covariances_give_the_hand_computed_value()
    {
        // Σ₁ = diag(4, 1), Σ₂ = [[2, 1], [1, 2]]: Σ₁^½ Σ₂ Σ₁^½ = [[8, 2], [2, 2]], trace 10, determinant 12, and for a
        // 2×2 SPD matrix tr √M = √(tr M + 2√det M) = √(10 + 4√3). Means differ by (1, −2): ‖Δμ‖² = 5.
        var expected = 5 + 5 + 4 - 2 * Math.Sqrt(10 + 4 * Math.Sqrt(3));
        var d = FrechetDistance.Compute(Gaussian([1.0, 0.0], new double[,] { { 4, 0 }, { 0, 1 } }), Gaussian([0.0, 2.0], new double[,] { { 2, 1 }, { 1, 2 } }));
        Assert.Equal(expected, d, 10);
        // Symmetric in its arguments.
        Assert.Equal(expected, FrechetDistance.Compute(Gaussian([0.0, 2.0], new double[,] { { 2, 1 }, { 1, 2 } }), Gaussian([1.0, 0.0], new double[,] { { 4, 0 }, { 0, 1 } })), 10);
    }

    [Fact]
    public void Singular_covariances_from_fewer_samples_than_features_stay_finite()
    {
        manual_seed(6);
        var a = GaussianStats.FromFeatures(randn(5, 32));
        var b = GaussianStats.FromFeatures(randn(5, 32) + 0.5);
        var d = FrechetDistance.Compute(a, b);
        Assert.True(double.IsFinite(d) && d > 0);
    }

    [Fact]
    public void Statistics_match_a_float64_loop_and_survive_a_file_round_trip()
    {
        manual_seed(7);
        using var features = randn(40, 3, dtype: float64);
        var x = features.data<double>().ToArray();
        var acc = new GaussianStats.Accumulator(3);
        acc.Add(features.narrow(0, 0, 15));
        acc.Add(features.narrow(0, 15, 25));
        var stats = acc.ToStats();
        for (var i = 0; i < 3; i++)
        {
            var mi = Enumerable.Range(0, 40).Average(n => x[n * 3 + i]);
            Assert.Equal(mi, stats.Mean[i], 12);
            for (var j = 0; j < 3; j++)
            {
                var mj = Enumerable.Range(0, 40).Average(n => x[n * 3 + j]);
                var cov = Enumerable.Range(0, 40).Sum(n => (x[n * 3 + i] - mi) * (x[n * 3 + j] - mj)) / 39;
                Assert.Equal(cov, stats.Covariance[i * 3 + j], 12);
            }
        }
        var path = Path.Combine(GanTestData.TempDirectory(), "stats.bin");
        stats.Save(path);
        var loaded = GaussianStats.Load(path);
        Assert.Equal(stats.Mean, loaded.Mean);
        Assert.Equal(stats.Covariance, loaded.Covariance);
        Assert.Equal(40, loaded.Count);
    }

    [Fact]
    public void Matrix_square_root_squares_back()
    {
        using var m = tensor(new double[] { 5, 2, 0, 2, 3, 1, 0, 1, 4 }, [3, 3]);
        using var root = FrechetDistance.SquareRoot(m);
        Assert.True(root.matmul(root).allclose(m, rtol: 0, atol: 1e-12));
    }
}
