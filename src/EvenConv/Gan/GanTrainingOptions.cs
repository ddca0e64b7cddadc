namespace EvenConv.Gan;

/// <summary>
/// How a GAN is trained. Defaults are the protocol of paper.md Decision 7: hinge loss, Adam with lr 2e-4 and
/// β = (0.5, 0.999), one discriminator step per generator step, batch 64; samples and scores come from an
/// exponential moving average of the generator's weights (β 0.999).
/// </summary>
public sealed record GanTrainingOptions
{
    /// <summary>Generator steps.</summary>
    public int Iterations { get; init; } = 20_000;

    /// <summary>Real and generated images per step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Adam learning rate of both networks.</summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>Adam β₁.</summary>
    public double Beta1 { get; init; } = 0.5;

    /// <summary>Adam β₂.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>
    /// Decay β of the exponential moving average of the generator's weights (<see cref="EvenConv.Training.WeightAverage"/>),
    /// whose images are the run's samples and its score; 0 turns the average off (samples from the raw generator).
    /// </summary>
    public double GeneratorAverageDecay { get; init; } = 0.999;

    /// <summary>Discriminator steps per generator step.</summary>
    public int DiscriminatorSteps { get; init; } = 1;

    /// <summary>Seed of the initial weights, the batches, the noise and the fixed sample noise.</summary>
    public int Seed { get; init; }

    /// <summary>A PNG grid of samples from the fixed noise batch every this many steps (and at the end); 0 = only at the end.</summary>
    public int SampleEvery { get; init; } = 1000;

    /// <summary>Images in each sample grid (a square number reads best).</summary>
    public int SampleCount { get; init; } = 64;

    /// <summary>A checkpoint every this many steps (and at the end or on interruption).</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>
    /// The run is declared "did not converge" when the discriminator wins outright — its hinge loss stays below
    /// <see cref="DivergenceLossFloor"/>, i.e. every real and generated image is beyond the margin — for this many
    /// consecutive steps. A NaN or infinite loss stops the run at once.
    /// </summary>
    public int DivergencePatience { get; init; } = 500;

    /// <summary>Discriminator hinge loss below which the discriminator counts as winning outright.</summary>
    public double DivergenceLossFloor { get; init; } = 0.01;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first value out of range.</summary>
    public GanTrainingOptions Validate()
    {
        if (Iterations < 1) throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "Train for at least one step (--iters).");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Batch size must be at least 2 (batch norm needs two images).");
        if (LearningRate <= 0 || !double.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be a positive number (2e-4 is the default).");
        if (Beta1 is < 0 or >= 1 || Beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Beta1), (Beta1, Beta2), "Adam betas must lie in [0, 1) (defaults 0.5, 0.999).");
        if (GeneratorAverageDecay is < 0 or >= 1 || double.IsNaN(GeneratorAverageDecay))
            throw new ArgumentOutOfRangeException(nameof(GeneratorAverageDecay), GeneratorAverageDecay, "The generator average's decay must lie in [0, 1) (0 = off, 0.999 is the default).");
        if (DiscriminatorSteps < 1) throw new ArgumentOutOfRangeException(nameof(DiscriminatorSteps), DiscriminatorSteps, "At least one discriminator step per generator step.");
        if (SampleEvery < 0) throw new ArgumentOutOfRangeException(nameof(SampleEvery), SampleEvery, "Sample interval must be 0 (end only) or positive.");
        if (SampleCount < 1) throw new ArgumentOutOfRangeException(nameof(SampleCount), SampleCount, "A sample grid needs at least one image.");
        if (CheckpointEvery < 1) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, "Checkpoint interval must be positive.");
        if (DivergencePatience < 1) throw new ArgumentOutOfRangeException(nameof(DivergencePatience), DivergencePatience, "Divergence patience must be at least one step.");
        return this;
    }
}
