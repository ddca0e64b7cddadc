using EvenConv.Reproduction;
using EvenConv.Reproduction.Experiments;
using K = EvenConv.Reproduction.Experiments.GanExperiment.KindScore;

namespace EvenConv.Tests.Reproduction;

/// <summary>The GAN experiment's verdict on the paper's ordering, from hand-made per-kind scores.</summary>
public class GanOrderingTests
{
    private static List<K> Kinds(double c2, double c2sp, double c3, double c4, double c4sp, double c5, double std = 0.5, int c2Converged = 3) =>
    [
        new("c2", c2Converged == 0 ? null : c2, c2Converged == 0 ? null : std, 3, c2Converged),
        new("c2sp", c2sp, std, 3, 3), new("c3", c3, std, 3, 3), new("c4", c4, std, 3, 3), new("c4sp", c4sp, std, 3, 3), new("c5", c5, std, 3, 3),
    ];

    [Fact]
    public void Symmetric_even_kernels_clearly_ahead_and_c2_diverging_reproduce_the_claim()
    {
        var (verdict, why) = GanExperiment.JudgeOrdering(Kinds(0, 10, 14, 15, 11, 16, c2Converged: 1), seeds: 3);
        Assert.Equal(Verdict.Reproduced, verdict);
        Assert.Contains("did not converge", why);
    }

    [Fact]
    public void Gaps_inside_the_seed_spread_decide_nothing()
    {
        // c2sp 10 ± 2 against c3 12 ± 2: the bands 8–12 and 10–14 overlap.
        Assert.Equal(Verdict.Inconclusive, GanExperiment.JudgeOrdering(Kinds(11, 10, 12, 12, 10.5, 12, std: 2), 3).Verdict);
    }

    [Fact]
    public void A_clearly_better_odd_kernel_contradicts_the_claim()
    {
        // c3 (8 ± 0.5) clearly beats c2sp (12 ± 0.5).
        var (verdict, why) = GanExperiment.JudgeOrdering(Kinds(20, 12, 8, 15, 11, 16), 3);
        Assert.Equal(Verdict.NotReproduced, verdict);
        Assert.Contains("C3, C4 or C5 clearly beats", why);
    }

    [Fact]
    public void Only_the_c2_part_holding_is_partly()
    {
        // C2 clearly worst, but the symmetric kinds are level with C3–C5.
        Assert.Equal(Verdict.Partly, GanExperiment.JudgeOrdering(Kinds(20, 12, 12, 12.2, 12.1, 11.9), 3).Verdict);
    }

    [Fact]
    public void Fewer_than_three_seeds_is_inconclusive_whatever_the_means()
    {
        Assert.Equal(Verdict.Inconclusive, GanExperiment.JudgeOrdering(Kinds(0, 10, 14, 15, 11, 16, c2Converged: 0), seeds: 2).Verdict);
    }

    [Fact]
    public void The_scores_measured_on_fashion_mnist_contradict_the_claim()
    {
        // docs/gan.md: 3 seeds, 1,200 steps. C3 9.06 ± 0.99 is clearly below C2sp 10.95 ± 0.71.
        List<K> measured =
        [
            new("c2", 10.87, 1.51, 3, 3), new("c2sp", 10.95, 0.71, 3, 3), new("c3", 9.06, 0.99, 3, 3),
            new("c4", 6.01, 1.00, 3, 3), new("c4sp", 6.29, 0.50, 3, 3), new("c5", 6.00, 0.45, 3, 3),
        ];
        var (verdict, why) = GanExperiment.JudgeOrdering(measured, 3);
        Assert.Equal(Verdict.NotReproduced, verdict);
        Assert.Contains("C2 is not separated", why);
    }
}
