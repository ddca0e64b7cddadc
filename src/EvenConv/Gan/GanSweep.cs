using System.Text.Json;
using EvenConv.Gan.Frechet;
using EvenConv.IO;
using EvenConv.Layers;
using EvenConv.Plotting;

namespace EvenConv.Gan;

/// <summary>One run of a sweep: its kind, seed, outcome and score.</summary>
/// <param name="Kind">Kernel kind.</param>
/// <param name="Seed">Seed.</param>
/// <param name="Result">How training ended.</param>
/// <param name="Score">The Fréchet distance; null when the run did not converge or no extractor was given.</param>
public sealed record GanSweepRun(string Kind, int Seed, GanTrainingResult Result, FrechetScore? Score);

/// <summary>Progress of a sweep: which run, and that run's training progress.</summary>
public sealed record GanSweepProgress(int Run, int Runs, string Kind, int Seed, GanProgress? Training);

/// <summary>
/// The paper's GAN table (§3.4) under EvenConv's protocol: for every kernel kind and seed, train a GAN (resuming
/// any run already in the output folder), score it with the Fréchet distance of the chosen extractor, and report
/// mean ± std per kind, "non-convergence" where runs diverged, as Markdown, CSV and JSON, with a figure of one
/// sample grid per kind side by side.
/// </summary>
public static class GanSweep
{
    /// <summary>Runs the sweep into <paramref name="outputDirectory"/> and writes the tables and the figure there.</summary>
    public static IReadOnlyList<GanSweepRun> Run(IReadOnlyList<ConvKind> kinds, IReadOnlyList<int> seeds, Func<ConvKind, GanArchitecture> architecture,
        GanTrainingOptions options, GanImages images, IFeatureExtractor? extractor, int frechetSamples, string outputDirectory,
        IProgress<GanSweepProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (kinds.Count == 0) throw new ArgumentException("Give at least one kernel kind (--convs c2,c2sp,c3).", nameof(kinds));
        if (seeds.Count == 0) throw new ArgumentException("Give at least one seed (--seeds).", nameof(seeds));
        var runs = new List<GanSweepRun>();
        var samples = new List<(string Label, Tile Tile)>();
        var total = kinds.Count * seeds.Count;
        foreach (var kind in kinds)
            foreach (var seed in seeds)
            {
                var index = runs.Count;
                progress?.Report(new GanSweepProgress(index, total, kind.ToString(), seed, null));
                var dir = Path.Combine(outputDirectory, $"{kind}-s{seed}");
                using var trainer = new GanTrainer(architecture(kind), options with { Seed = seed }, images, dir);
                var inner = progress is null ? null : new InlineProgress<GanProgress>(p => progress.Report(new GanSweepProgress(index, total, kind.ToString(), seed, p)));
                var result = trainer.Train(inner, cancellationToken);
                var score = result.Outcome == GanOutcome.Completed && extractor is not null
                    ? ScoreOnce(trainer, images, extractor, frechetSamples) : null;
                runs.Add(new GanSweepRun(kind.ToString(), seed, result, score));
                if (seed == seeds[0]) samples.Add(($"{kind} · seed {seed}", SampleTile(trainer, options with { Seed = seed }, runs[^1])));
            }
        WriteReport(runs, kinds, images, extractor, options, outputDirectory);
        var label = FeatureNet.DatasetLabel(images.Data.Name);
        Grids.Save(Path.Combine(outputDirectory, "gan-samples.png"), samples.Select(s => s.Tile).ToList(), samples.Count,
            new GridOptions($"GAN samples, {label}, {options.Iterations} steps") { ColumnLabels = samples.Select(s => s.Label).ToList(), TileSize = 300 });
        return runs;
    }

    /// <summary>The score of a finished run, cached in its folder (score.json) per extractor and sample count.</summary>
    private static FrechetScore ScoreOnce(GanTrainer trainer, GanImages images, IFeatureExtractor extractor, int samples)
    {
        var path = Path.Combine(trainer.Files.Directory, $"score-{extractor.CacheKey}-n{samples}.json");
        if (File.Exists(path) && JsonSerializer.Deserialize<FrechetScore>(File.ReadAllText(path)) is { } cached) return cached;
        var score = FrechetEvaluation.Score(trainer.Sampler, images, extractor, samples);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(score));
        return score;
    }

    /// <summary>The summary table: one row per kind.</summary>
    public static ResultTable Summarise(IReadOnlyList<GanSweepRun> runs, IReadOnlyList<ConvKind> kinds, string metric)
    {
        var table = new ResultTable("kind", metric, "mean", "std", "runs", "converged", "seconds per run");
        foreach (var kind in kinds.Select(k => k.ToString()))
        {
            var mine = runs.Where(r => r.Kind == kind).ToList();
            var scores = mine.Where(r => r.Score is not null).Select(r => r.Score!.Value).ToList();
            var converged = mine.Count(r => r.Result.Outcome == GanOutcome.Completed);
            double? mean = scores.Count > 0 ? scores.Average() : null;
            double? std = scores.Count > 1 ? Math.Sqrt(scores.Sum(s => (s - mean!.Value) * (s - mean.Value)) / (scores.Count - 1)) : scores.Count == 1 ? 0 : null;
            var cell = converged == 0 ? "non-convergence"
                : mean is null ? "not scored"
                : $"{mean:F2} ± {std:F2}" + (converged < mine.Count ? $" ({mine.Count - converged}/{mine.Count} non-convergence)" : "");
            table.Add(kind, cell, mean, std, mine.Count, converged, mine.Average(r => r.Result.Seconds));
        }
        return table;
    }

    private static void WriteReport(IReadOnlyList<GanSweepRun> runs, IReadOnlyList<ConvKind> kinds, GanImages images, IFeatureExtractor? extractor,
        GanTrainingOptions options, string outputDirectory)
    {
        var metric = extractor?.MetricName ?? "distance";
        var summary = Summarise(runs, kinds, metric);
        var perRun = new ResultTable("kind", "seed", "outcome", metric, "steps", "seconds", "reason");
        foreach (var r in runs) perRun.Add(r.Kind, r.Seed, r.Result.Outcome.ToString(), r.Score?.Value, r.Result.Steps, r.Result.Seconds, r.Result.Reason);
        summary.WriteCsv(Path.Combine(outputDirectory, "gan-sweep.csv"));
        perRun.WriteCsv(Path.Combine(outputDirectory, "gan-runs.csv"));
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "gan-sweep.json"), JsonSerializer.Serialize(new
        {
            metric,
            data = images.Data.Name,
            iterations = options.Iterations,
            frechet_samples = runs.FirstOrDefault(r => r.Score is not null)?.Score?.Samples,
            summary = summary.ToJson(),
            runs = perRun.ToJson(),
        }, GanTrainer.JsonOptions));
        var label = FeatureNet.DatasetLabel(images.Data.Name);
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "gan-sweep.md"),
            $"# GAN sweep: {label}, {options.Iterations} steps, seeds {string.Join(", ", runs.Select(r => r.Seed).Distinct())}\n\n" +
            $"{metric} (lower is better; mean ± std over seeds). " +
            (extractor is FeatureNet ? $"{metric} uses a {FeatureNet.Width}-d classifier of {label}, a proxy that ranks generators of this data set; it is not FID.\n\n" : "\n\n") +
            summary.ToMarkdown("F2") + "\n## Runs\n\n" + perRun.ToMarkdown("F2"));
    }

    /// <summary>The run's final samples from its fixed noise batch, captioned with its score.</summary>
    private static Tile SampleTile(GanTrainer trainer, GanTrainingOptions options, GanSweepRun run)
    {
        using var images = trainer.Samples(options.SampleCount);
        var caption = run.Result.Outcome == GanOutcome.DidNotConverge ? "did not converge" : run.Score is { } s ? $"{s.Metric} {s.Value:F2}" : "";
        return SampleGrid.ToTile(images).WithCaption(caption);
    }
}
