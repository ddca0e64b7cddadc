namespace EvenConv.Gan;

/// <summary>The files of one GAN run folder (<c>gan train --out DIR</c>).</summary>
public sealed class GanRunFiles(string directory)
{
    /// <summary>The run folder.</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Architecture, training options and data of the run (JSON); a resume must match it.</summary>
    public string Config => Path.Combine(Directory, "run.json");

    /// <summary>Latest checkpoint (networks, optimisers, step), written atomically.</summary>
    public string Checkpoint => Path.Combine(Directory, "checkpoint.bin");

    /// <summary>One JSON object per step (<see cref="GanStepLog"/>).</summary>
    public string Losses => Path.Combine(Directory, "losses.jsonl");

    /// <summary>Sample grids from the fixed noise batch, one per sampling step.</summary>
    public string SamplesDirectory => Path.Combine(Directory, "samples");

    /// <summary>The latest sample grid.</summary>
    public string LatestSamples => Path.Combine(Directory, "samples.png");

    /// <summary>How the run ended (<see cref="GanTrainingResult"/>).</summary>
    public string Result => Path.Combine(Directory, "result.json");

    /// <summary>The sample grid of step <paramref name="step"/>.</summary>
    public string SamplesAt(int step) => Path.Combine(SamplesDirectory, $"step-{step:D6}.png");
}
