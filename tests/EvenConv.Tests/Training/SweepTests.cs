using EvenConv.Data;
using EvenConv.Tests.Data;
using EvenConv.Training;
using EvenConv.Training.Sweeps;
using static TorchSharp.torch;

namespace EvenConv.Tests.Training;

public sealed class SweepTests : IDisposable
{
    private readonly TestData _data = new();
    public void Dispose() => _data.Dispose();

    private static nn.Module<Tensor, Tensor> Tiny(TrainingConfig config, IImageDataset train) =>
        new TinyNet(train.Channels, train.ClassNames.Count, width: config.Model == "tiny-wide" ? 10 : 4);

    [Fact]
    public void Resnet_cifar_depths_expand_to_6n_plus_2()
    {
        Assert.Equal(["resnet20", "resnet38", "resnet56"], SweepSpec.ExpandModels("resnet-cifar", [3, 6, 9]));
        Assert.Equal(6, ClassifierModels.ResNetCifarBlocks("resnet38"));
        Assert.Null(ClassifierModels.ResNetCifarBlocks("resnet21"));
        Assert.Null(ClassifierModels.ResNetCifarBlocks("densenet40"));
        Assert.Throws<ArgumentException>(() => SweepSpec.ExpandModels("resnet-cifar", null));
    }

    [Fact]
    public void A_sweep_writes_its_table_and_plots_and_a_rerun_skips_finished_cells()
    {
        var dir = _data.WriteIdxSet("digits", count: 24, h: 8, w: 8, classes: 3);
        var spec = new SweepSpec(["tiny-wide"], ["c2sp", "c3"], 2,
            new TrainingConfig { Data = dir, Epochs = 2, BatchSize = 8, PadCrop = 1, CheckpointMinutes = 0, Seed = 4 });
        var output = _data.PathOf("sweep");
        var report = new SweepRunner(spec, output, Tiny).Run();
        Assert.Equal(2, report.Rows.Count);
        Assert.All(report.Rows, r => Assert.Equal(2, r.Runs));
        var wide = report.Rows.Single(r => r.Model == "tiny-wide" && r.Conv == "c3");
        Assert.Equal(1 * 10 * 9 + 2 * 10 + 10 * 3 + 3, wide.Parameters);
        Assert.Equal(10 * 9 * 64 + 10 * 3, wide.Macs);
        var errors = new[] { 5, 4 }.Select(s => 100 * Trainer.ReadResult(Path.Combine(output, "cells", $"tiny-wide-c3-seed{s}"))!.FinalTestError).ToArray();
        Assert.Equal(errors.Average(), wide.MeanError, 9);
        Assert.Equal(Math.Abs(errors[0] - errors[1]) / Math.Sqrt(2), wide.StdError, 9);
        foreach (var file in new[] { "results.md", "results.csv", "results.json", "error-vs-params.png", "curves-tiny-wide.png", "cells/tiny-wide-c2sp-seed5/curve.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(output, "results.csv")).Length);

        var messages = new List<string>();
        new SweepRunner(spec, output, Tiny) { Message = messages.Add }.Run();
        Assert.Equal(4, messages.Count(m => m.EndsWith("finished earlier, skipped", StringComparison.Ordinal)));
        var changed = spec with { Base = spec.Base with { LearningRate = 0.2 } };
        Assert.Throws<EvenConvException>(() => new SweepRunner(changed, output, Tiny).Run());
    }
}
