namespace EvenConv.Reproduction;

/// <summary>How much time the reproduction may spend on a 2-core CPU.</summary>
public enum Budget
{
    /// <summary>Seconds per experiment: every code path and every file, with meaningless numbers (tests, smoke checks).</summary>
    Tiny,
    /// <summary>About 20 minutes: short training budgets whose numbers show the direction of an effect.</summary>
    Quick,
    /// <summary>The budgets this machine can afford in hours; the counting and analysis experiments are exact at any budget.</summary>
    Full,
}

/// <summary>How a measurement compares with the paper's claim.</summary>
public enum Verdict
{
    /// <summary>EvenConv's measurement agrees with the claim.</summary>
    Reproduced,
    /// <summary>Part of the claim holds, or it holds only within the stated caveats.</summary>
    Partly,
    /// <summary>The measurement contradicts the claim.</summary>
    NotReproduced,
    /// <summary>Too little budget to decide (e.g. a quick run's short training): the numbers are reported, no verdict.</summary>
    Inconclusive,
}

/// <summary>Progress of one experiment: the fraction done and what it is doing.</summary>
public readonly record struct ExperimentProgress(double Fraction, string Message);

/// <summary>What an experiment gets: its own folder in the report, the budget, the data, progress and cancellation.</summary>
public sealed class ExperimentContext
{
    /// <summary>The experiment's folder (created by the runner); figures and data files go here.</summary>
    public required string Directory { get; init; }

    /// <summary>The time budget.</summary>
    public required Budget Budget { get; init; }

    /// <summary>Data set name or path for the experiments that train (default "fashion-mnist").</summary>
    public required string Data { get; init; }

    /// <summary>Receives progress reports; may be null.</summary>
    public IProgress<ExperimentProgress>? Progress { get; init; }

    /// <summary>Stops the experiment at its next safe point.</summary>
    public CancellationToken Cancel { get; init; }

    /// <summary>A file inside the experiment's folder.</summary>
    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    /// <summary>Reports progress.</summary>
    public void Report(double fraction, string message) => Progress?.Report(new ExperimentProgress(Math.Clamp(fraction, 0, 1), message));
}

/// <summary>The outcome of one experiment, as the report shows it.</summary>
/// <param name="Claim">The paper's claim, in one or two sentences.</param>
/// <param name="Measurement">EvenConv's measurement, in one or two sentences with the key numbers.</param>
/// <param name="Verdict">How the two compare.</param>
/// <param name="Details">Markdown: tables and notes (how it was measured, caveats).</param>
/// <param name="Figures">PNG files in the experiment's folder, by file name.</param>
/// <param name="DataFiles">CSV/JSON files in the experiment's folder, by file name.</param>
public sealed record ExperimentResult(string Claim, string Measurement, Verdict Verdict, string Details,
    IReadOnlyList<string> Figures, IReadOnlyList<string> DataFiles);

/// <summary>One experiment of the paper that EvenConv reproduces. Implementations are thin adapters over the library.</summary>
public interface IExperiment
{
    /// <summary>Stable identifier, also the folder name: "shift", "erosion", ...</summary>
    string Id { get; }

    /// <summary>Section title in the report.</summary>
    string Title { get; }

    /// <summary>Expected running time on a 2-core CPU.</summary>
    TimeSpan Estimate(Budget budget);

    /// <summary>Runs the experiment, writing its files into <see cref="ExperimentContext.Directory"/>.</summary>
    ExperimentResult Run(ExperimentContext context);
}
