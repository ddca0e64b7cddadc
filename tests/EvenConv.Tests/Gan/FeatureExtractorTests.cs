using EvenConv.Gan;
using EvenConv.Gan.Frechet;
using static TorchSharp.torch;

namespace EvenConv.Tests.Gan;

public class FeatureExtractorTests
{
    [Fact]
    public void Inception_v3_has_torchvision_parameter_names_shapes_and_count()
    {
        using var net = new InceptionV3();
        var parameters = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        // torchvision.models.inception_v3(aux_logits=True): 27,161,264 parameters.
        Assert.Equal(27_161_264L, parameters.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
        Assert.Equal([32L, 3, 3, 3], parameters["Conv2d_1a_3x3.conv.weight"]);
        Assert.Equal([160L, 160, 7, 1], parameters["Mixed_6c.branch7x7dbl_2.conv.weight"]);
        Assert.Equal([384L, 384, 3, 1], parameters["Mixed_7c.branch3x3dbl_3b.conv.weight"]);
        Assert.Equal([768L, 128, 5, 5], parameters["AuxLogits.conv1.conv.weight"]);
        Assert.Equal([1000L, 2048], parameters["fc.weight"]);
        var buffers = net.named_buffers().Select(b => b.name).ToHashSet();
        Assert.Contains("Mixed_5b.branch_pool.bn.running_var", buffers);
        Assert.Contains("Conv2d_1a_3x3.bn.num_batches_tracked", buffers);
    }

    [Fact]
    public void Inception_features_load_from_a_weights_file_and_reject_other_files()
    {
        var dir = GanTestData.TempDirectory();
        var weights = Path.Combine(dir, "inception.dat");
        manual_seed(8);
        using (var source = new InceptionV3()) source.save(weights);
        using var extractor = new InceptionFeatures(weights);
        Assert.Equal("FID", extractor.MetricName);
        using var features = extractor.Features(rand(2, 1, 32, 32) * 2 - 1);
        Assert.Equal([2L, 2048], features.shape);
        Assert.True(features.isfinite().all().item<bool>());

        var wrong = Path.Combine(dir, "wrong.dat");
        using (var other = nn.Linear(3, 3)) other.save(wrong);
        Assert.Throws<EvenConvException>(() => new InceptionFeatures(wrong));
        Assert.Throws<FileNotFoundException>(() => new InceptionFeatures(Path.Combine(dir, "missing.dat")));
    }

    [Fact]
    public void A_feature_net_learns_the_classes_saves_and_caches_real_statistics()
    {
        var dir = GanTestData.TempDirectory();
        var previousCache = Environment.GetEnvironmentVariable("EVENCONV_CACHE");
        Environment.SetEnvironmentVariable("EVENCONV_CACHE", Path.Combine(dir, "cache"));
        try
        {
            var images = new GanImages(GanTestData.Brightness(), 8);
            var path = FrechetEvaluation.DefaultFeatureNetPath(images.Data.Name);
            using var trained = FeatureNetTrainer.Train(images, images, path, epochs: 3, batchSize: 16);
            using var net = FeatureNet.Load(path);
            Assert.Equal("FD-brightness", net.MetricName);
            Assert.True(net.Info.TestAccuracy > 0.9, $"accuracy {net.Info.TestAccuracy}");
            using var batch = images.Batch([0, 1, 2]);
            Assert.True(trained.Features(batch).allclose(net.Features(batch), rtol: 1e-5, atol: 1e-6));

            var real = FrechetEvaluation.RealStatistics(images, net, 40);
            Assert.Equal(40, real.Count);
            var cached = Directory.GetFiles(Path.Combine(dir, "cache", "frechet-stats"));
            Assert.Single(cached);
            Assert.Equal(real.Covariance, FrechetEvaluation.RealStatistics(images, net, 40).Covariance);

            using var generator = new GanGenerator(GanTestData.TinyArchitecture());
            var score = FrechetEvaluation.Score(generator, images, net, 40);
            Assert.Equal("FD-brightness", score.Metric);
            Assert.True(score.Value > 0);
        }
        finally
        {
            Environment.SetEnvironmentVariable("EVENCONV_CACHE", previousCache);
        }
    }
}
