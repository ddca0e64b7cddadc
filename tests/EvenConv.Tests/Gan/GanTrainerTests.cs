using EvenConv.Gan;
using SkiaSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Gan;

public class GanTrainerTests
{
    private static GanImages TinyImages() => new(GanTestData.Shapes(), 8);

    private static Dictionary<string, Tensor> Snapshot(TorchSharp.torch.nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    public void One_training_step_changes_every_parameter_of_both_networks()
    {
        using var trainer = new GanTrainer(GanTestData.TinyArchitecture(), GanTestData.TinyOptions(1), TinyImages(), GanTestData.TempDirectory());
        var g = trainer.Generator.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var d = trainer.Discriminator.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var result = trainer.Train();
        Assert.Equal(GanOutcome.Completed, result.Outcome);
        Assert.Equal(1, result.Steps);
        foreach (var (name, p) in trainer.Generator.named_parameters()) Assert.False(p.allclose(g[name], rtol: 0, atol: 0), $"generator {name} did not change");
        // The score bias is the one exception: while every score is inside the hinge margin its gradient is
        // mean(−1 over real) + mean(+1 over fake) = 0 exactly.
        foreach (var (name, p) in trainer.Discriminator.named_parameters().Where(p => p.name != "fc.module.bias"))
            Assert.False(p.allclose(d[name], rtol: 0, atol: 0), $"discriminator {name} did not change");
    }

    [Fact]
    public void A_resumed_run_continues_exactly_like_an_uninterrupted_one()
    {
        var straightDir = GanTestData.TempDirectory();
        Dictionary<string, Tensor> straightG, straightD, straightAverage;
        using (var straight = new GanTrainer(GanTestData.TinyArchitecture(), GanTestData.TinyOptions(5), TinyImages(), straightDir))
        {
            straight.Train();
            (straightG, straightD, straightAverage) = (Snapshot(straight.Generator), Snapshot(straight.Discriminator), Snapshot(straight.AverageGenerator!));
        }

        var resumedDir = GanTestData.TempDirectory();
        using (var first = new GanTrainer(GanTestData.TinyArchitecture(), GanTestData.TinyOptions(3), TinyImages(), resumedDir)) first.Train();
        using var second = new GanTrainer(GanTestData.TinyArchitecture(), GanTestData.TinyOptions(5), TinyImages(), resumedDir);
        var result = second.Train();

        Assert.Equal(5, result.Steps);
        foreach (var (name, t) in Snapshot(second.Generator)) Assert.True(t.Equals(straightG[name]), $"generator {name} differs after resume");
        foreach (var (name, t) in Snapshot(second.Discriminator)) Assert.True(t.Equals(straightD[name]), $"discriminator {name} differs after resume");
        foreach (var (name, t) in Snapshot(second.AverageGenerator!)) Assert.True(t.Equals(straightAverage[name]), $"average generator {name} differs after resume");
        static string[] Losses(string dir) => File.ReadAllLines(new GanRunFiles(dir).Losses).Select(l => l[..l.IndexOf("\"seconds\"", StringComparison.Ordinal)]).ToArray();
        Assert.Equal(Losses(straightDir), Losses(resumedDir));
    }

    /// <summary>The batches and noise of a step come from seeds that every process computes alike, so a run resumed in
    /// a new process (the test above resumes in the same one) continues like an uninterrupted run. The expected values
    /// are SplitMix64 (<see cref="EvenConv.Data.CounterRandom"/>'s algorithm) worked out independently in Python; a
    /// per-process hash such as <c>HashCode.Combine</c> fails them.</summary>
    [Theory]
    [InlineData(0, 1, 0, 405062490)]
    [InlineData(0, 1, 1, 1425215101)]
    [InlineData(7, 123, 1001, 402728160)]
    public void Step_seeds_are_the_same_in_every_process(int seed, int step, int stream, int expected) =>
        Assert.Equal(expected, GanTrainer.StepSeed(seed, step, stream));

    [Fact]
    public void Samples_come_from_the_weight_average_which_trails_the_generator_and_without_it_from_the_generator()
    {
        using var averaged = new GanTrainer(GanTestData.TinyArchitecture(), GanTestData.TinyOptions(3), TinyImages(), GanTestData.TempDirectory());
        averaged.Train();
        Assert.Same(averaged.AverageGenerator, averaged.Sampler);
        var name = averaged.Generator.named_parameters().First().name;
        var g = averaged.Generator.named_parameters().First().parameter;
        var a = averaged.AverageGenerator!.named_parameters().First(p => p.name == name).parameter;
        Assert.False(a.allclose(g, rtol: 0, atol: 0), "after three updates with β ≈ 0.2–0.3 the average must lag the generator");

        using var plain = new GanTrainer(GanTestData.TinyArchitecture(), GanTestData.TinyOptions(1) with { GeneratorAverageDecay = 0 }, TinyImages(), GanTestData.TempDirectory());
        Assert.Null(plain.AverageGenerator);
        Assert.Same(plain.Generator, plain.Sampler);
    }

    [Fact]
    public void A_discriminator_that_wins_outright_ends_the_run_as_did_not_converge()
    {
        // A loss floor above any hinge loss makes every step a discriminator win: the run must stop after `patience` steps.
        var options = GanTestData.TinyOptions(20) with { DivergencePatience = 3, DivergenceLossFloor = 1e9 };
        var dir = GanTestData.TempDirectory();
        using var trainer = new GanTrainer(GanTestData.TinyArchitecture(), options, TinyImages(), dir);
        var result = trainer.Train();
        Assert.Equal(GanOutcome.DidNotConverge, result.Outcome);
        Assert.Equal(3, result.Steps);
        Assert.Contains("won outright", result.Reason);
        Assert.StartsWith("did not converge", result.Describe());
        Assert.Equal(result, GanTrainer.ReadResult(new GanRunFiles(dir).Result));
        // Running it again returns the stored outcome instead of training on.
        using var again = new GanTrainer(GanTestData.TinyArchitecture(), options, TinyImages(), dir);
        Assert.Equal(3, again.Train().Steps);
    }

    [Fact]
    public void Non_finite_losses_are_divergence_not_a_crash()
    {
        var monitor = new DivergenceMonitor(patience: 100, lossFloor: 0.01);
        Assert.False(monitor.Observe(1, 1.5, 0.3));
        Assert.True(monitor.Observe(2, double.NaN, 0.3));
        Assert.Contains("NaN at step 2", monitor.Reason);
        var infinite = new DivergenceMonitor(100, 0.01);
        Assert.True(infinite.Observe(7, 0.5, double.PositiveInfinity));
        Assert.Contains("infinite", infinite.Reason);
    }

    [Fact]
    public void The_streak_of_discriminator_wins_resets_when_the_generator_recovers()
    {
        var monitor = new DivergenceMonitor(patience: 3, lossFloor: 0.01);
        Assert.False(monitor.Observe(1, 0.001, 2));
        Assert.False(monitor.Observe(2, 0.001, 2));
        Assert.False(monitor.Observe(3, 0.5, 2));
        Assert.False(monitor.Observe(4, 0.001, 2));
        Assert.False(monitor.Observe(5, 0.001, 2));
        Assert.True(monitor.Observe(6, 0.001, 2));
        Assert.Contains("steps 4–6", monitor.Reason);
    }

    [Fact]
    public void A_run_writes_losses_sample_grids_and_a_checkpoint_and_refuses_other_settings()
    {
        var dir = GanTestData.TempDirectory();
        using (var trainer = new GanTrainer(GanTestData.TinyArchitecture(), GanTestData.TinyOptions(4), TinyImages(), dir)) trainer.Train();
        var files = new GanRunFiles(dir);
        Assert.Equal(4, File.ReadAllLines(files.Losses).Length);
        Assert.True(File.Exists(files.Checkpoint));
        using (var png = SKBitmap.Decode(files.SamplesAt(2))) Assert.True(png.Width >= 256 && png.Height >= 256);
        Assert.True(File.Exists(files.SamplesAt(4)) && File.Exists(files.LatestSamples));

        using var other = new GanTrainer(GanTestData.TinyArchitecture("c3"), GanTestData.TinyOptions(6), TinyImages(), dir);
        var e = Assert.Throws<EvenConvException>(() => other.Train());
        Assert.Contains("other settings", e.Message);
    }

    [Fact]
    public void A_mosaic_tiles_images_row_by_row_with_grey_gaps()
    {
        using var images = arange(5 * 4, dtype: float32).view(5, 1, 2, 2) / 20;
        using var mosaic = SampleGrid.Mosaic(images, columns: 3, gap: 1);
        // 2 rows × 3 columns of 2×2 images, 1-pixel gaps: (1 + 2·3) × (1 + 3·3).
        Assert.Equal([1L, 7, 10], mosaic.shape);
        Assert.Equal(0f, mosaic[0, 0, 0].item<float>());
        Assert.Equal(images[1, 0, 1, 0].item<float>(), mosaic[0, 2, 4].item<float>());
        Assert.Equal(images[3, 0, 0, 1].item<float>(), mosaic[0, 4, 2].item<float>());
        Assert.Equal(0f, mosaic[0, 5, 8].item<float>());   // the empty sixth cell
    }

    [Theory]
    [InlineData("c2"), InlineData("c2sp"), InlineData("c3"), InlineData("c4"), InlineData("c4sp"), InlineData("c5")]
    public void Every_kernel_kind_builds_a_generator_and_discriminator_of_the_right_shapes(string kind)
    {
        var arch = GanTestData.TinyArchitecture(kind) with { Resolution = 16, ImageChannels = 3 };
        using var g = new GanGenerator(arch);
        using var d = new GanDiscriminator(arch);
        using var images = g.call(randn(3, arch.LatentDim));
        Assert.Equal([3L, 3, 16, 16], images.shape);
        Assert.True(images.abs().max().item<float>() <= 1);
        Assert.Equal([3L], d.call(images).shape);
    }

    [Fact]
    public void Images_are_padded_with_black_around_the_centre_or_cropped_and_downsampled()
    {
        var data = GanTestData.Shapes(count: 2);
        using var batch = new GanImages(data, 8).Batch([0, 1]);
        Assert.Equal([2L, 1, 8, 8], batch.shape);
        Assert.Equal(-1f, batch[0, 0, 0, 0].item<float>());
        Assert.Equal(-1f, batch[1, 0, 7, 7].item<float>());
        var pixel = new byte[36];
        data.ReadImage(0, pixel);
        Assert.Equal(pixel[0] / 127.5f - 1, batch[0, 0, 1, 1].item<float>(), 5);

        using var small = new GanImages(data, 4).Batch([0]);
        Assert.Equal([1L, 1, 4, 4], small.shape);
        var empty = new EvenConv.Data.InMemoryImageDataset("empty", [], [], 1, 6, 6, ["a"]);
        Assert.Contains("no images", Assert.Throws<EvenConvException>(() => new GanImages(empty, 8)).Message);
    }
}

public class GanImageFolderTests
{
    [Fact]
    public void An_rgb_image_folder_trains_at_a_lower_resolution_after_centre_crop_and_downsampling()
    {
        var dir = GanTestData.TempDirectory();
        for (var i = 0; i < 4; i++)
            File.WriteAllBytes(Directory.CreateDirectory(Path.Combine(dir, "data", "faces")).FullName + $"/{i}.png", EvenConv.Tests.Data.TestData.EncodeImage(20, 16, i));
        var data = EvenConv.Data.DataSets.Open(Path.Combine(dir, "data"), EvenConv.Data.DataSplit.Train);
        var images = new GanImages(data, 8);
        using (var batch = images.Batch([0, 3])) Assert.Equal([2L, 3, 8, 8], batch.shape);
        var arch = GanTestData.TinyArchitecture() with { ImageChannels = 3 };
        using var trainer = new GanTrainer(arch, GanTestData.TinyOptions(2), images, Path.Combine(dir, "run"));
        Assert.Equal(GanOutcome.Completed, trainer.Train().Outcome);
    }

    [Fact]
    public void A_folder_without_images_is_refused_before_training()
    {
        var dir = GanTestData.TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir, "empty", "class"));
        var e = Record.Exception(() => new GanImages(EvenConv.Data.DataSets.Open(Path.Combine(dir, "empty"), EvenConv.Data.DataSplit.Train), 32));
        Assert.NotNull(e);
        Assert.True(e is EvenConvException or InvalidDataException or ArgumentException, e.GetType().Name + ": " + e.Message);
    }
}
