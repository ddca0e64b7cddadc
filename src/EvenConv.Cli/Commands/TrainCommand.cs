using System.CommandLine;
using EvenConv.Training;
using Spectre.Console;
using TorchSharp;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv train`: train a classifier; checkpoints, metrics and result.json go to --out.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var options = new TrainingOptions(includeModel: true);
        var output = new Option<string>("--out") { Description = "Run directory (config.json, last.ckpt, metrics.jsonl/csv, result.json).", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint, bit for bit." };
        var command = new Command("train", "Train a classifier (SGD + Nesterov, the authors' schedules) with checkpoints and per-epoch metrics.") { output, resume };
        options.AddTo(command);
        command.SetAction((parse, cancellation) =>
        {
            var outDir = parse.GetValue(output)!;
            var resuming = parse.GetValue(resume);
            TrainingConfig config;
            if (resuming)
            {
                // The same command line may start and resume a run; only options that would change its results are refused.
                var saved = Checkpoint.ReadHeader(Path.Combine(outDir, Trainer.CheckpointFile)).Config;
                config = options.Resolve(parse, saved);
                if (saved.RecipeDifferences(config) is { Count: > 0 } changed)
                    throw new ArgumentException($"--resume continues the saved run with its own config, but {string.Join(", ", changed)} differ from it; " +
                        "drop those options (only threads, workers and checkpoint options may change), or start a new run with another --out.");
            }
            else config = options.Resolve(parse).Validate();
            var trainer = new Trainer(config, outDir, ClassifierModels.Create);
            var shown = resuming ? Checkpoint.ReadHeader(trainer.CheckpointPath).Config : config;
            AnsiConsole.MarkupLineInterpolated($"[bold]{shown.Model}[/] {shown.Conv} on {shown.Data}: {shown.Epochs} epochs, batch {shown.BatchSize}, lr {shown.LearningRate} ({shown.Schedule}), wd {shown.WeightDecay}, seed {shown.Seed}");
            AnsiConsole.MarkupLineInterpolated($"[grey]threads {(config.Threads > 0 ? config.Threads : torch.get_num_threads())}, allocator {Runtime.AllocatorDescription()}, output {Path.GetFullPath(outDir)}{(resuming ? ", resuming" : "")}[/]");
            var result = TrainingConsole.Run($"{shown.Model} {shown.Conv}", progress =>
                new Trainer(config, outDir, ClassifierModels.Create) { Progress = progress }.Run(resuming, cancellation));
            AnsiConsole.MarkupLineInterpolated(
                $"[green]done[/]: test error {100 * result.FinalTestError:F2}% (best {100 * result.BestTestError:F2}% at epoch {result.BestEpoch}), {result.Parameters:N0} params, {result.TrainSeconds / 60:F1} min, {result.ImagesPerSecond:F0} img/s, stall {result.StallSeconds:F1} s, peak memory {result.PeakMemoryBytes / 1048576.0:F0} MiB");
            return Task.FromResult(0);
        });
        return command;
    }
}
