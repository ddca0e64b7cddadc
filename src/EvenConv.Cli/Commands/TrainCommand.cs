using System.CommandLine;
using EvenConv.Distributed;
using EvenConv.Training;
using Spectre.Console;
using TorchSharp;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv train`: train a classifier; checkpoints, metrics and result.json go to --out. Under mpirun every
/// rank runs this command and trains its shard of each batch; rank 0 prints and writes the files.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var options = new TrainingOptions(includeModel: true);
        var output = new Option<string>("--out") { Description = "Run directory (config.json, last.ckpt, metrics.jsonl/csv, result.json).", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint, bit for bit." };
        var distributed = DistributedJob.ModeOption();
        var command = new Command("train", "Train a classifier (SGD + Nesterov, the authors' schedules) with checkpoints and per-epoch metrics.") { output, resume, distributed };
        options.AddTo(command);
        command.SetAction((parse, cancellation) =>
        {
            using var job = Job.Start(Job.ParseMode(parse.GetValue(distributed)!));
            return Task.FromResult(DistributedJob.Run(job, () => Train(parse, options, parse.GetValue(output)!, parse.GetValue(resume), job, cancellation)));
        });
        return command;
    }

    private static int Train(ParseResult parse, TrainingOptions options, string outDir, bool resuming, ICommunicator job, CancellationToken cancellation)
    {
        TrainingConfig config;
        if (resuming)
        {
            // The same command line may start and resume a run; only options that would change its results are refused.
            var saved = Trainer.SavedConfig(outDir, job);
            config = options.Resolve(parse, saved);
            if (saved.RecipeDifferences(config) is { Count: > 0 } changed)
                throw new ArgumentException($"--resume continues the saved run with its own config, but {string.Join(", ", changed)} differ from it; " +
                    "drop those options (only threads, workers, checkpoint and bucket options may change), or start a new run with another --out.");
        }
        else config = options.Resolve(parse).Validate();
        if (job.Rank != 0)
        {
            new Trainer(config, outDir, ClassifierModels.Create) { Communicator = job }.Run(resuming, cancellation);
            return 0;
        }
        var threads = config.Threads > 0 ? config.Threads : job.Size > 1 ? Job.ThreadsPerRank(job) : torch.get_num_threads();
        var batch = job.Size > 1 ? $"batch {config.BatchSize} per rank × {job.Size} ranks" : $"batch {config.BatchSize}";
        AnsiConsole.MarkupLineInterpolated($"[bold]{config.Model}[/] {config.Conv} on {config.Data}: {config.Epochs} epochs, {batch}, lr {config.LearningRate} ({config.Schedule}), wd {config.WeightDecay}, seed {config.Seed}{(config.SyncBatchNorm ? ", synchronized batch norm" : "")}");
        AnsiConsole.MarkupLineInterpolated($"[grey]{job.Description}, threads {threads}{(job.Size > 1 ? " per rank" : "")}, allocator {Runtime.AllocatorDescription()}, output {Path.GetFullPath(outDir)}{(resuming ? ", resuming" : "")}[/]");
        var result = TrainingConsole.Run($"{config.Model} {config.Conv}", progress =>
            new Trainer(config, outDir, ClassifierModels.Create) { Progress = progress, Communicator = job }.Run(resuming, cancellation));
        AnsiConsole.MarkupLineInterpolated(
            $"[green]done[/]: test error {100 * result.FinalTestError:F2}% (best {100 * result.BestTestError:F2}% at epoch {result.BestEpoch}), {result.Parameters:N0} params, {result.TrainSeconds / 60:F1} min, {result.ImagesPerSecond:F0} img/s, stall {result.StallSeconds:F1} s, peak memory {result.PeakMemoryBytes / 1048576.0:F0} MiB");
        return 0;
    }
}
