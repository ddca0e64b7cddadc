using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using EvenConv.IO;

namespace EvenConv.Reproduction;

/// <summary>Progress of a whole reproduction: which experiment (1-based) of how many, and its own progress.</summary>
public readonly record struct ReproductionProgress(int Index, int Count, string ExperimentTitle, ExperimentProgress Experiment);

/// <summary>One finished experiment as recorded on disk: its result, the budget it ran with and how long it took.</summary>
public sealed record CompletedExperiment(string Id, string Title, Budget Budget, double Seconds, ExperimentResult Result);

/// <summary>
/// Runs experiments in order and resumably: each finished experiment leaves <c>&lt;id&gt;/result.json</c> (written
/// atomically), and a later run with the same budget skips it, so an interrupted reproduction continues at the
/// experiment it was on. The report is rewritten after every experiment.
/// </summary>
public sealed class ReproductionRunner(string outputDirectory, Budget budget, string data)
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Runs every experiment not already finished with this budget; returns all results, in order.</summary>
    public IReadOnlyList<CompletedExperiment> Run(IReadOnlyList<IExperiment> experiments, IProgress<ReproductionProgress>? progress = null, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(outputDirectory);
        var done = new List<CompletedExperiment>();
        for (var i = 0; i < experiments.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var experiment = experiments[i];
            var folder = Path.Combine(outputDirectory, experiment.Id);
            var resultFile = Path.Combine(folder, "result.json");
            var previous = TryLoad(resultFile);
            if (previous is not null && previous.Budget == budget)
            {
                done.Add(previous);
                progress?.Report(new ReproductionProgress(i + 1, experiments.Count, experiment.Title, new ExperimentProgress(1, "done earlier (kept)")));
                continue;
            }
            Directory.CreateDirectory(folder);
            var index = i + 1;
            var context = new ExperimentContext
            {
                Directory = folder,
                Budget = budget,
                Data = data,
                Cancel = cancel,
                Progress = new InlineProgress<ExperimentProgress>(p => progress?.Report(new ReproductionProgress(index, experiments.Count, experiment.Title, p))),
            };
            var clock = Stopwatch.StartNew();
            var result = experiment.Run(context);
            var completed = new CompletedExperiment(experiment.Id, experiment.Title, budget, clock.Elapsed.TotalSeconds, result);
            AtomicFile.WriteAllText(resultFile, JsonSerializer.Serialize(completed, Json));
            done.Add(completed);
            ReportWriter.Write(outputDirectory, budget, experiments, done);
        }
        ReportWriter.Write(outputDirectory, budget, experiments, done);
        return done;
    }

    private static CompletedExperiment? TryLoad(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<CompletedExperiment>(File.ReadAllText(path), Json);
        }
        catch (JsonException)
        {
            return null; // A damaged record is rerun rather than trusted.
        }
    }
}
