using EvenConv.Benchmarks;
using EvenConv.Layers;

namespace EvenConv.Tests.Benchmarks;

/// <summary>The training-step benchmark's block names, including the C2sp network run with separate batch norm,
/// activation and convolution ops.</summary>
public class TrainStepBenchmarkTests
{
    [Fact]
    public void The_separate_ops_block_is_the_same_c2sp_network()
    {
        Assert.Equal(TrainStepBenchmark.Network("c2sp", 56), TrainStepBenchmark.Network(TrainStepBenchmark.SeparateOpsC2sp, 56));
        Assert.Equal(("resnet20", ConvKind.C3), TrainStepBenchmark.Network("c3", 20));
        Assert.DoesNotContain(TrainStepBenchmark.SeparateOpsC2sp, TrainStepBenchmark.Blocks);
    }

    [Fact]
    public void An_unknown_block_is_rejected_with_every_valid_name()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainStepBenchmark.Network("c2x", 20));
        foreach (var name in TrainStepBenchmark.Blocks.Append(TrainStepBenchmark.SeparateOpsC2sp)) Assert.Contains(name, e.Message);
    }

    [Fact]
    public void A_tiny_run_times_both_c2sp_networks()
    {
        var options = new TrainStepBenchmarkOptions
        {
            Layers = [20], Blocks = ["c2sp", TrainStepBenchmark.SeparateOpsC2sp], Batch = 4, Rounds = 1, WarmupSteps = 1,
        };
        var rows = TrainStepBenchmark.Run(options);
        Assert.Equal(["c2sp", TrainStepBenchmark.SeparateOpsC2sp], rows.Select(r => r.Block));
        Assert.All(rows, r => Assert.True(r.StepMs > 0 && r.Params == rows[0].Params && r.Macs == rows[0].Macs, $"{r.Block}: {r}"));
    }
}
