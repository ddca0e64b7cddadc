using System.CommandLine;
using System.Globalization;
using EvenConv.Data;
using EvenConv.Gan;
using EvenConv.Gan.Frechet;
using EvenConv.Layers;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv gan train|feature-net|sweep`: GANs with every kernel kind, scored by a Fréchet distance (docs/gan.md).</summary>
internal static class GanCommand
{
    public static Command Create()
    {
        var command = new Command("gan", "GANs whose every spatial convolution is one kernel kind (c2, c2sp, c3, c4, c4sp, c5), scored by Fréchet distance.");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(FeatureNetCommand());
        command.Subcommands.Add(Sweep());
        return command;
    }

    /// <summary>The options that train and sweep share: data, architecture, training and scoring.</summary>
    private sealed class RunOptions
    {
        public readonly Option<string> Data = new("--data") { Description = "Data set name (fashion-mnist, cifar10, ...) or an image folder.", Required = true };
        public readonly Option<string?> DataDir = new("--data-dir") { Description = "Folder holding named data sets (default: the standard locations)." };
        public readonly Option<int> Iters = new("--iters") { Description = "Generator steps.", DefaultValueFactory = _ => 20_000 };
        public readonly Option<int> Batch = new("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 64 };
        public readonly Option<int> Resolution = new("--resolution") { Description = "Image side: 32, 64 or 128 (smaller images are padded, larger centre-cropped and downsampled).", DefaultValueFactory = _ => 32 };
        public readonly Option<int> GWidth = new("--g-width") { Description = "Generator channels at 4×4 (halved per upsampling).", DefaultValueFactory = _ => 256 };
        public readonly Option<int> DWidth = new("--d-width") { Description = "Discriminator channels of the first stage (doubled per stage).", DefaultValueFactory = _ => 64 };
        public readonly Option<double> Ema = new("--ema") { Description = "Decay of the moving average of the generator's weights, whose images are sampled and scored (0: off, the raw generator).", DefaultValueFactory = _ => 0.999 };
        public readonly Option<int> SampleEvery = new("--sample-every") { Description = "Write a sample grid every K steps (0: only at the end).", DefaultValueFactory = _ => 1000 };
        public readonly Option<int> CheckpointEvery = new("--checkpoint-every") { Description = "Write a checkpoint every K steps.", DefaultValueFactory = _ => 1000 };
        public readonly Option<int> Patience = new("--patience") { Description = "Steps of outright discriminator wins after which a run counts as not converged.", DefaultValueFactory = _ => 500 };
        public readonly Option<string> Features = new("--features") { Description = "Feature extractor for the distance: auto (the data set's feature net, FD-<data>), none, featurenet:FILE, inception:FILE (FID).", DefaultValueFactory = _ => "auto" };
        public readonly Option<int> FdSamples = new("--fd-samples") { Description = "Real and generated images per Gaussian fit.", DefaultValueFactory = _ => 10_000 };

        public void AddTo(Command c)
        {
            foreach (Option o in new Option[] { Data, DataDir, Iters, Batch, Resolution, GWidth, DWidth, Ema, SampleEvery, CheckpointEvery, Patience, Features, FdSamples }) c.Options.Add(o);
        }

        public GanImages Images(ParseResult p) =>
            new(DataSets.Open(p.GetValue(Data)!, DataSplit.Train, p.GetValue(DataDir)), p.GetValue(Resolution));

        public GanArchitecture Architecture(ParseResult p, ConvKind kind, GanImages images) =>
            new GanArchitecture(kind, images.Channels, p.GetValue(Resolution), GeneratorWidth: p.GetValue(GWidth), DiscriminatorWidth: p.GetValue(DWidth)).Validate();

        public GanTrainingOptions Training(ParseResult p, int seed) => new GanTrainingOptions
        {
            Iterations = p.GetValue(Iters), BatchSize = p.GetValue(Batch), Seed = seed, GeneratorAverageDecay = p.GetValue(Ema), SampleEvery = p.GetValue(SampleEvery),
            CheckpointEvery = p.GetValue(CheckpointEvery), DivergencePatience = p.GetValue(Patience),
        }.Validate();
    }

    private static Command Train()
    {
        var run = new RunOptions();
        var conv = new Option<string>("--conv") { Description = "Kernel kind of every spatial convolution: c2, c2sp, c3, c4, c4sp, c5.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Seed of weights, batches and noise.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Run folder: losses.jsonl, samples/, checkpoint.bin, result.json. An existing run there is resumed.", Required = true };
        var command = new Command("train", "Train one GAN; resumes the run in --out if there is one.") { conv, seed, output };
        run.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var images = run.Images(parse);
            var architecture = run.Architecture(parse, ConvKind.Parse(parse.GetValue(conv)!), images);
            var options = run.Training(parse, parse.GetValue(seed));
            using var extractor = FeatureChoice.Parse(parse.GetValue(run.Features)!).Open(images, out var missing);
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"GAN {architecture}, {images.Count} images of {images.Data.Name}, {options.Iterations} steps → {outDir}");
            using var trainer = new GanTrainer(architecture, options, images, outDir);
            var result = ProgressDisplay.Run<GanProgress, GanTrainingResult>(Describe, p => (double)p.Step / p.Iterations, progress => trainer.Train(progress, cancel));
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{architecture.Conv}: {result.Describe()} after {result.Steps} steps ({result.Seconds / 60:F1} min); samples {trainer.Files.LatestSamples}");
            if (result.Outcome == GanOutcome.Completed && extractor is not null)
            {
                var score = FrechetEvaluation.Score(trainer.Sampler, images, extractor, parse.GetValue(run.FdSamples));
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{score.Metric} = [bold]{score.Value:F2}[/] over {score.Samples} real and {score.Samples} generated images");
            }
            else if (missing is not null) AnsiConsole.MarkupLineInterpolated($"[yellow]Distance skipped:[/] {missing}.");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command FeatureNetCommand()
    {
        var data = new Option<string>("--data") { Description = "Labelled data set name or folder.", Required = true };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder holding named data sets." };
        var resolution = new Option<int>("--resolution") { Description = "Image side, as the GAN's.", DefaultValueFactory = _ => 32 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 2 };
        var output = new Option<string?>("--out") { Description = "Network file (default: the cache, where `--features auto` finds it)." };
        var command = new Command("feature-net", "Train the offline feature extractor: a small classifier of the data set whose features give FD-<data>.") { data, dataDir, resolution, epochs, output };
        command.SetAction((parse, cancel) =>
        {
            var train = new GanImages(DataSets.Open(parse.GetValue(data)!, DataSplit.Train, parse.GetValue(dataDir)), parse.GetValue(resolution));
            var test = new GanImages(DataSets.Open(parse.GetValue(data)!, DataSplit.Test, parse.GetValue(dataDir)), parse.GetValue(resolution));
            var path = Path.GetFullPath(parse.GetValue(output) ?? FrechetEvaluation.DefaultFeatureNetPath(train.Data.Name));
            using var net = ProgressDisplay.Run<FeatureNetProgress, FeatureNet>(
                p => $"feature net {p.Step}/{p.Steps} · loss {p.Loss:F3} · {p.ImagesPerSecond:F0} img/s",
                p => (double)p.Step / p.Steps,
                progress => FeatureNetTrainer.Train(train, test, path, parse.GetValue(epochs), progress: progress, cancellationToken: cancel));
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{net.MetricName} feature network: test accuracy [bold]{net.Info.TestAccuracy:P2}[/] on {test.Count} images → {path}");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command Sweep()
    {
        var run = new RunOptions();
        var convs = new Option<string>("--convs") { Description = "Comma-separated kernel kinds.", DefaultValueFactory = _ => "c2,c2sp,c3,c4,c4sp,c5" };
        var seeds = new Option<string>("--seeds") { Description = "Seeds: a count N (seeds 0…N−1) or a comma-separated list.", DefaultValueFactory = _ => "3" };
        var output = new Option<string>("--out") { Description = "Sweep folder: one run folder per kind and seed (finished runs are reused), gan-sweep.md/.csv/.json, gan-samples.png.", DefaultValueFactory = _ => "gan-sweep" };
        var command = new Command("sweep", "The paper's GAN table: train every kind with several seeds, report mean ± std of the distance and non-convergence.") { convs, seeds, output };
        run.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var kinds = ConvKind.ParseList(parse.GetValue(convs)!);
            var seedList = ParseSeeds(parse.GetValue(seeds)!);
            var images = run.Images(parse);
            var options = run.Training(parse, 0);
            using var extractor = FeatureChoice.Parse(parse.GetValue(run.Features)!).Open(images, out var missing);
            if (missing is not null) throw new EvenConvException($"The sweep reports distances but {missing}; or pass --features none to train without scoring.");
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"GAN sweep: {string.Join(", ", kinds)} × seeds {string.Join(", ", seedList)}, {options.Iterations} steps on {images.Data.Name} → {outDir}");
            var runs = ProgressDisplay.Run<GanSweepProgress, IReadOnlyList<GanSweepRun>>(
                p => $"[{p.Run + 1}/{p.Runs}] {p.Kind} seed {p.Seed}" + (p.Training is { } t ? $" · {Describe(t)}" : " · starting"),
                p => (p.Run + (p.Training is { } t ? (double)t.Step / t.Iterations : 0)) / p.Runs,
                progress => GanSweep.Run(kinds, seedList, k => run.Architecture(parse, k, images), options, images, extractor, parse.GetValue(run.FdSamples), outDir, progress, cancel));
            var summary = GanSweep.Summarise(runs, kinds, extractor?.MetricName ?? "distance");
            var table = new Table().AddColumns("kind", extractor?.MetricName ?? "distance", "converged", "min/run");
            foreach (var row in summary.Rows) table.AddRow(Markup.Escape($"{row[0]}"), Markup.Escape($"{row[1]}"), $"{row[5]}/{row[4]}", $"{(double)row[6]! / 60:F1}");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Tables: {Path.Combine(outDir, "gan-sweep.md")} (.csv, .json); samples side by side: {Path.Combine(outDir, "gan-samples.png")}");
            return Task.FromResult(0);
        });
        return command;
    }

    private static string Describe(GanProgress p) =>
        string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.Iterations} · D {p.DLoss:F3} · G {p.GLoss:F3} · {p.ImagesPerSecond:F0} img/s · ETA {p.Eta:hh\\:mm\\:ss}");

    private static IReadOnlyList<int> ParseSeeds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 1 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && !text.Contains(',', StringComparison.Ordinal))
            return Enumerable.Range(0, n).ToList();
        var seeds = new List<int>();
        foreach (var p in parts)
            seeds.Add(int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : throw new ArgumentException($"--seeds {text}: '{p}' is not a whole number. Give a count (3) or a list (0,1,2)."));
        if (seeds.Count == 0) throw new ArgumentException("--seeds: give a count (3) or a list (0,1,2).");
        return seeds;
    }
}
