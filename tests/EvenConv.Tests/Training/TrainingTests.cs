using EvenConv.Data;
using EvenConv.Tests.Data;
using EvenConv.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Training;

public class ScheduleTests
{
    private static LearningRateSchedule Schedule(string kind, int epochs, double warmup = 0) =>
        LearningRateSchedule.From(new TrainingConfig { Schedule = kind, Epochs = epochs, LearningRate = 0.1, WarmupEpochs = warmup });

    [Fact]
    public void Step_schedule_is_the_authors_piecewise_constant_scaled_to_the_run()
    {
        var s = Schedule("step", 300);
        Assert.Equal(0.1, s.At(150, 0, 10), 12);
        Assert.Equal(0.01, s.At(151, 0, 10), 12);
        Assert.Equal(0.01, s.At(225, 9, 10), 12);
        Assert.Equal(0.001, s.At(226, 0, 10), 12);
        Assert.Equal([4, 6], LearningRateSchedule.DefaultMilestones(8));
    }

    [Fact]
    public void Cosine_is_fixed_within_an_epoch_and_never_zero_in_the_run()
    {
        var s = Schedule("cosine", 3);
        Assert.Equal(0.05 * (1 + Math.Cos(Math.PI / 4)), s.At(1, 0, 5), 12);
        Assert.Equal(s.At(1, 0, 5), s.At(1, 4, 5));
        Assert.Equal(0.05 * (1 + Math.Cos(3 * Math.PI / 4)), s.At(3, 2, 5), 12);
        // The authors' ImageNet recipe: cosine_decay(0.1, e, 100), e = 1…99.
        Assert.Equal(0.05 * (1 + Math.Cos(Math.PI * 37 / 100)), Schedule("cosine", 99).At(37, 0, 5004), 12);
    }

    [Fact]
    public void Cosine_per_iteration_warms_up_linearly_then_decays()
    {
        var s = Schedule("cosine-iter", 3, warmup: 1); // 4 batches per epoch: 4 warm-up steps, 8 cosine steps
        Assert.Equal(0.025, s.At(1, 0, 4), 12);
        Assert.Equal(0.1, s.At(1, 3, 4), 12);
        Assert.Equal(0.1, s.At(2, 0, 4), 12);
        Assert.Equal(0.05 * (1 + Math.Cos(Math.PI * 7 / 8)), s.At(3, 3, 4), 12);
        Assert.True(s.At(2, 1, 4) < s.At(2, 0, 4));
    }

    [Fact]
    public void Bad_schedule_names_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => Schedule("linear", 3));
        Assert.Contains("cosine-iter", e.Message);
    }
}

public class NesterovSgdTests
{
    [Fact]
    public void Matches_torch_sgd_with_nesterov_and_weight_decay()
    {
        manual_seed(3);
        using var a = new TinyNet(2, 3);
        using var b = new TinyNet(2, 3);
        b.load_state_dict(a.state_dict());
        using var mine = new NesterovSgd(a, 0.9, true, 1e-2, []);
        var reference = optim.SGD(b.parameters(), 0.05, momentum: 0.9, weight_decay: 1e-2, nesterov: true);
        for (var step = 0; step < 4; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(5, 2, 6, 6);
            var y = tensor(new long[] { 0, 1, 2, 1, 0 });
            mine.ZeroGrad();
            nn.functional.cross_entropy(a.call(x), y).backward();
            mine.Step(0.05);
            reference.zero_grad();
            nn.functional.cross_entropy(b.call(x), y).backward();
            reference.step();
        }
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.allclose(pb, rtol: 1e-5, atol: 1e-7), name);
    }

    [Fact]
    public void Exclusions_name_norm_parameters_and_biases()
    {
        using var net = new TinyNet(1, 2);
        using var bnOnly = new NesterovSgd(net, 0.9, true, 1e-4, ["bn"]);
        Assert.Equal(["bn.bias", "bn.weight"], bnOnly.Undecayed.Order());
        using var both = new NesterovSgd(net, 0.9, true, 1e-4, ["bn", "bias"]);
        Assert.Equal(["bn.bias", "bn.weight", "fc.bias"], both.Undecayed.Order());
    }
}

public sealed class TrainerTests : IDisposable
{
    private readonly TestData _data = new();
    public void Dispose() => _data.Dispose();

    private TrainingConfig Config(string dataDir) => new()
    {
        Model = "tiny", Conv = "c3", Data = dataDir, Epochs = 2, BatchSize = 8, LearningRate = 0.05, Schedule = "cosine",
        PadCrop = 1, HorizontalFlip = true, Cutout = 2, Mixup = "uniform", MixupAlpha = 0.5, Seed = 5, CheckpointMinutes = 0,
    };

    private static nn.Module<Tensor, Tensor> Tiny(TrainingConfig config, IImageDataset train) => new TinyNet(train.Channels, train.ClassNames.Count);

    private static Dictionary<string, float[]> Weights(string checkpoint)
    {
        var (_, tensors) = Checkpoint.Read(checkpoint);
        var weights = tensors.Where(kv => kv.Key != "rng").ToDictionary(kv => kv.Key, kv => kv.Value.to_type(ScalarType.Float32).data<float>().ToArray());
        foreach (var t in tensors.Values) t.Dispose();
        return weights;
    }

    [Fact]
    public void A_run_writes_config_metrics_checkpoint_and_result()
    {
        var dir = _data.WriteIdxSet("digits", count: 40, h: 8, w: 8, classes: 4);
        var output = _data.PathOf("run");
        var reports = new List<TrainingProgress>();
        var result = new Trainer(Config(dir), output, Tiny) { Progress = reports.Add }.Run();
        Assert.Equal(2, EpochMetrics.ReadAll(output).Count);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(output, "metrics.csv")).Length);
        Assert.Equal("tiny", TrainingConfig.Load(Path.Combine(output, Trainer.ConfigFile)).Model);
        Assert.Equal(result, Trainer.ReadResult(output));
        Assert.Equal(2 * 5 + 2, reports.Count);
        Assert.InRange(result.FinalTestError, 0, 1);
        Assert.Equal(3, Checkpoint.ReadHeader(Path.Combine(output, Trainer.CheckpointFile)).Position.Epoch);
        var e = Assert.Throws<EvenConvException>(() => new Trainer(Config(dir), output, Tiny).Run());
        Assert.Contains("--resume", e.Message);
    }

    [Fact]
    public void Resuming_after_a_stop_mid_epoch_is_bit_exact()
    {
        var dir = _data.WriteIdxSet("digits", count: 40, h: 8, w: 8, classes: 4);
        var whole = _data.PathOf("whole");
        new Trainer(Config(dir), whole, Tiny).Run();

        var split = _data.PathOf("split");
        using var stop = new CancellationTokenSource();
        var trainer = new Trainer(Config(dir), split, Tiny) { Progress = p => { if (p.Epoch == 1 && p.Batch == 3) stop.Cancel(); } };
        Assert.Throws<OperationCanceledException>(() => trainer.Run(cancellation: stop.Token));
        var stopped = Checkpoint.ReadHeader(Path.Combine(split, Trainer.CheckpointFile)).Position;
        Assert.Equal((1, 3), (stopped.Epoch, stopped.NextBatch));
        new Trainer(Config(dir), split, Tiny).Run(resume: true);

        var expected = Weights(Path.Combine(whole, Trainer.CheckpointFile));
        var actual = Weights(Path.Combine(split, Trainer.CheckpointFile));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected) Assert.Equal(values, actual[name]);
        var (a, b) = (EpochMetrics.ReadAll(whole), EpochMetrics.ReadAll(split));
        Assert.Equal(a.Select(m => (m.TrainLoss, m.TrainAccuracy, m.TestLoss, m.TestError, m.LearningRate)),
                     b.Select(m => (m.TrainLoss, m.TrainAccuracy, m.TestLoss, m.TestError, m.LearningRate)));
    }

    [Fact]
    public void Non_finite_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint()
    {
        var dir = _data.WriteIdxSet("digits", count: 40, h: 8, w: 8, classes: 4);
        var output = _data.PathOf("nan");
        var config = Config(dir) with { CheckpointSteps = 2 };
        var e = Assert.Throws<EvenConvException>(() => new Trainer(config, output, (c, t) =>
        {
            var net = new PoisonedNet(new TinyNet(t.Channels, t.ClassNames.Count), poisonAtCall: 4);
            net.Register();
            return net;
        }).Run());
        Assert.Contains("loss is NaN at epoch 1, batch 4 of 5 (step 4)", e.Message);
        Assert.Contains("last good checkpoint", e.Message);
        var kept = Checkpoint.ReadHeader(Path.Combine(output, Trainer.CheckpointFile)).Position;
        Assert.Equal((1, 2, 2L), (kept.Epoch, kept.NextBatch, kept.GlobalStep));
    }

    [Fact]
    public void Checkpoint_for_another_model_is_refused_with_the_reason()
    {
        var dir = _data.WriteIdxSet("digits", count: 16, h: 8, w: 8, classes: 4);
        var output = _data.PathOf("m");
        new Trainer(Config(dir) with { Epochs = 1 }, output, Tiny).Run();
        var (_, tensors) = Checkpoint.Read(Path.Combine(output, Trainer.CheckpointFile));
        using var wider = new TinyNet(1, 4, width: 7);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(wider, tensors, "x.ckpt"));
        Assert.Contains("another model", e.Message);
        foreach (var t in tensors.Values) t.Dispose();
        File.WriteAllBytes(_data.PathOf("junk.ckpt"), [1, 2, 3]);
        Assert.Throws<InvalidDataException>(() => Checkpoint.Read(_data.PathOf("junk.ckpt")));
    }
}
