namespace EvenConv.Training;

/// <summary>
/// Learning rate as a function of position. The authors set the rate once per epoch (epoch index from 1):
/// "step" is their piecewise_constant (÷10 after each milestone; 150 and 225 of 300 epochs by default, scaled to the
/// run), "cosine" is their cosine_decay: lr·½(1 + cos(π·e/(E+1))) for e = 1…E, which is cosine_decay(lr, e, E+1) run
/// until the rate would reach 0 (their ImageNet runs: 99 epochs of a 100-epoch decay). "cosine-iter" changes every
/// iteration, with a linear warm-up.
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly string _kind;
    private readonly double _peak;
    private readonly int _epochs;
    private readonly int[] _milestones;
    private readonly double _warmupEpochs;

    private LearningRateSchedule(string kind, double peak, int epochs, int[] milestones, double warmupEpochs) =>
        (_kind, _peak, _epochs, _milestones, _warmupEpochs) = (kind, peak, epochs, milestones, warmupEpochs);

    /// <summary>The schedule a config describes.</summary>
    public static LearningRateSchedule From(TrainingConfig config)
    {
        var kind = config.Schedule.ToLowerInvariant();
        if (kind is not ("step" or "cosine" or "cosine-iter" or "constant"))
            throw new ArgumentException($"--schedule {config.Schedule} is not one of step, cosine, cosine-iter, constant.");
        var milestones = config.Milestones ?? DefaultMilestones(config.Epochs);
        if (milestones.Zip(milestones.Skip(1)).Any(p => p.First >= p.Second) || milestones.Any(m => m < 1))
            throw new ArgumentException($"milestones {string.Join(",", milestones)} must be increasing epochs ≥ 1.");
        if (config.WarmupEpochs < 0 || config.WarmupEpochs >= config.Epochs)
            throw new ArgumentException($"warm-up {config.WarmupEpochs} epochs must be in [0, {config.Epochs}).");
        return new LearningRateSchedule(kind, config.LearningRate, config.Epochs, milestones, config.WarmupEpochs);
    }

    /// <summary>The authors' 150/225 of 300, scaled to <paramref name="epochs"/>.</summary>
    public static int[] DefaultMilestones(int epochs) =>
        new[] { (int)Math.Round(epochs * 0.5), (int)Math.Round(epochs * 0.75) }.Where(m => m >= 1).Distinct().ToArray();

    /// <summary>The rate for batch <paramref name="batch"/> (0-based) of 1-based <paramref name="epoch"/>.</summary>
    public double At(int epoch, int batch, int batchesPerEpoch)
    {
        switch (_kind)
        {
            case "constant": return _peak;
            case "step": return _peak * Math.Pow(0.1, _milestones.Count(m => epoch > m));
            case "cosine": return _peak * 0.5 * (1 + Math.Cos(Math.PI * epoch / (_epochs + 1)));
            default:
            {
                var total = (long)_epochs * batchesPerEpoch;
                var warmup = (long)Math.Round(_warmupEpochs * batchesPerEpoch);
                var step = (long)(epoch - 1) * batchesPerEpoch + batch + 1; // 1-based
                if (step <= warmup) return _peak * step / warmup;
                var progress = (double)(step - warmup - 1) / (total - warmup);
                return _peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
            }
        }
    }
}
