namespace EvenConv.Gan;

/// <summary>
/// Decides when a GAN run has stopped learning: a non-finite loss (at once), or a discriminator that wins outright
/// for <c>patience</c> consecutive steps. Either is reported as "did not converge" — the paper's "non-convergence"
/// of plain C2 — rather than as an error.
/// </summary>
public sealed class DivergenceMonitor(int patience, double lossFloor)
{
    /// <summary>Consecutive steps so far in which the discriminator won outright (saved in checkpoints).</summary>
    public int Streak { get; set; }

    /// <summary>Why the run diverged, or null while it has not.</summary>
    public string? Reason { get; private set; }

    /// <summary>Records step <paramref name="step"/>'s losses; returns true once the run has diverged.</summary>
    public bool Observe(int step, double discriminatorLoss, double generatorLoss)
    {
        if (Reason is not null) return true;
        if (!double.IsFinite(discriminatorLoss) || !double.IsFinite(generatorLoss))
        {
            Reason = $"a loss became {(double.IsNaN(discriminatorLoss) || double.IsNaN(generatorLoss) ? "NaN" : "infinite")} at step {step} (D {discriminatorLoss}, G {generatorLoss})";
            return true;
        }
        Streak = discriminatorLoss < lossFloor ? Streak + 1 : 0;
        if (Streak >= patience)
            Reason = $"the discriminator won outright (hinge loss < {lossFloor}) for {patience} consecutive steps, steps {step - patience + 1}–{step}";
        return Reason is not null;
    }
}
