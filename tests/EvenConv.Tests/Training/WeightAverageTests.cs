using EvenConv.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Training;

public class WeightAverageTests
{
    private sealed class Net : nn.Module
    {
        public readonly TorchSharp.Modules.Linear fc = nn.Linear(2, 1);
        public readonly TorchSharp.Modules.BatchNorm1d bn = nn.BatchNorm1d(1);
        public Net() : base("Net") => RegisterComponents();
    }

    private static void Set(Net net, double w0, double w1, double b, double runningMean)
    {
        using var _ = no_grad();
        net.fc.weight!.copy_(tensor(new[,] { { (float)w0, (float)w1 } }));
        net.fc.bias!.copy_(tensor(new[] { (float)b }));
        net.bn.running_mean!.copy_(tensor(new[] { (float)runningMean }));
    }

    [Fact]
    public void Each_update_moves_the_average_by_the_warmed_up_decay_and_copies_buffers()
    {
        using var source = new Net();
        using var average = new Net();
        Set(source, 1, 2, 3, 0.5);
        var ema = new WeightAverage(average, source, decay: 0.9);
        Assert.Equal(1f, average.fc.weight![0, 0].item<float>());           // starts as a copy
        Assert.False(average.fc.weight.requires_grad);

        Set(source, 5, -2, 0, 0.7);
        ema.Update();                                                        // β₁ = min(0.9, 2/11)
        double b1 = 2.0 / 11;
        Assert.Equal(b1 * 1 + (1 - b1) * 5, average.fc.weight[0, 0].item<float>(), 5);
        Assert.Equal(b1 * 2 + (1 - b1) * -2, average.fc.weight[0, 1].item<float>(), 5);
        Assert.Equal(b1 * 3 + (1 - b1) * 0, average.fc.bias![0].item<float>(), 5);
        Assert.Equal(0.7f, average.bn.running_mean![0].item<float>());     // buffers are copied, not averaged

        Set(source, 0, 0, 1, 0.1);
        ema.Update();                                                        // β₂ = min(0.9, 3/12)
        var a = b1 * 1 + (1 - b1) * 5;
        Assert.Equal(0.25 * a + 0.75 * 0, average.fc.weight[0, 0].item<float>(), 5);
        Assert.Equal(2, ema.Updates);
    }

    [Theory]
    [InlineData(0.999, 1, 2.0 / 11)]
    [InlineData(0.999, 90, 91.0 / 100)]
    [InlineData(0.9, 1000, 0.9)]
    [InlineData(0.999, 100_000, 0.999)]
    public void The_decay_warms_up_and_is_capped(double decay, long update, double expected) =>
        Assert.Equal(expected, WeightAverage.DecayAt(decay, update), 12);

    [Fact]
    public void Modules_of_other_architectures_and_impossible_decays_are_refused()
    {
        using var source = new Net();
        using var other = nn.Linear(3, 1);
        Assert.Throws<ArgumentException>(() => new WeightAverage(other, source, 0.9));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightAverage(new Net(), source, 1.0));
    }
}
