using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using EvenConv.Data;
using EvenConv.Training;

namespace EvenConv.Cli;

/// <summary>
/// The command-line options of a training config, shared by `train` and `sweep`. The config is built from the
/// defaults (or --config FILE.json), then every option the user typed overrides its field.
/// </summary>
internal sealed class TrainingOptions
{
    private readonly List<(Option Option, Func<TrainingConfig, ParseResult, TrainingConfig> Apply)> _overrides = [];

    public Option<string?> ConfigFile { get; } = new("--config") { Description = "JSON training config; options given on the command line override it." };
    public Option<string?> DataDirectory { get; } = Commands.DataCommand.DataDirectoryOption();

    public TrainingOptions(bool includeModel)
    {
        if (includeModel)
        {
            Add(new Option<string>("--model") { Description = "Model name (see `evenconv models`), e.g. resnet20." }, (c, v) => c with { Model = v });
            Add(new Option<string>("--conv") { Description = "Convolution kind: c2, c2sp, c3, c4, c4sp, c5, …" }, (c, v) => c with { Conv = v });
            Add(new Option<ulong>("--seed") { Description = "Seed of initialisation, shuffling and augmentation." }, (c, v) => c with { Seed = v });
        }
        Add(new Option<string>("--data") { Description = "Data set: fashion-mnist, mnist, cifar10, cifar100, or a directory (IDX, CIFAR binary, image folder)." }, (c, v) => c with { Data = v });
        Add(new Option<int>("--epochs") { Description = "Epochs to train." }, (c, v) => c with { Epochs = v });
        Add(new Option<int>("--batch") { Description = "Training batch size." }, (c, v) => c with { BatchSize = v });
        Add(new Option<double>("--lr") { Description = "Peak learning rate." }, (c, v) => c with { LearningRate = v });
        Add(new Option<string>("--schedule") { Description = "step | cosine (per epoch, as the authors) | cosine-iter (per iteration, warm-up) | constant." }, (c, v) => c with { Schedule = v });
        Add(new Option<string>("--milestones") { Description = "Epochs after which a step schedule divides the rate by 10, e.g. 150,225." }, (c, v) => c with { Milestones = Ints(v, "--milestones") });
        Add(new Option<double>("--warmup") { Description = "Warm-up epochs of cosine-iter." }, (c, v) => c with { WarmupEpochs = v });
        Add(new Option<double>("--wd") { Description = "Weight decay λ (loss += λ·Σ‖w‖²/2)." }, (c, v) => c with { WeightDecay = v });
        Add(new Option<string>("--no-decay") { Description = "Exclude from weight decay: bn, bias or bn,bias." }, (c, v) => c with { NoDecay = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) });
        Add(new Option<double>("--momentum") { Description = "Momentum μ (Nesterov)." }, (c, v) => c with { Momentum = v });
        Add(new Option<double>("--label-smoothing") { Description = "Label smoothing ε." }, (c, v) => c with { LabelSmoothing = v });
        Add(new Option<int>("--pad-crop") { Description = "Pad-and-random-crop margin in pixels (0 = off)." }, (c, v) => c with { PadCrop = v });
        Add(new Option<bool>("--no-flip") { Description = "Turn off random horizontal flips." }, (c, v) => c with { HorizontalFlip = !v });
        Add(new Option<int>("--cutout") { Description = "Cutout square side in pixels (0 = off)." }, (c, v) => c with { Cutout = v });
        Add(new Option<bool>("--normalize-first") { Description = "Pad and cut out with 0 after normalisation (the authors' option)." }, (c, v) => c with { NormalizeFirst = v });
        Add(new Option<string>("--mixup") { Description = "none | uniform (authors: λ~U(0,α) per sample, next sample) | beta (standard)." }, (c, v) => c with { Mixup = v });
        Add(new Option<double>("--mixup-alpha") { Description = "Mixup α." }, (c, v) => c with { MixupAlpha = v });
        Add(new Option<string>("--device") { Description = "cpu or cuda." }, (c, v) => c with { Device = v });
        Add(new Option<int>("--train-limit") { Description = "Train on this many evenly spaced images only (quick runs)." }, (c, v) => c with { TrainLimit = v });
        Add(new Option<int>("--test-limit") { Description = "Test on this many evenly spaced images only." }, (c, v) => c with { TestLimit = v });
        Add(new Option<int>("--eval-batch") { Description = "Evaluation batch size." }, (c, v) => c with { EvalBatchSize = v });
        Add(new Option<int>("--threads") { Description = "Intra-op threads (0 = one per core)." }, (c, v) => c with { Threads = v });
        Add(new Option<int>("--workers") { Description = "Threads preparing batches (raise for image folders)." }, (c, v) => c with { LoaderWorkers = v });
        Add(new Option<bool>("--sync-bn") { Description = "Data-parallel runs: batch norm with the statistics of the whole step's batch, over all ranks." }, (c, v) => c with { SyncBatchNorm = v });
        Add(new Option<double>("--bucket-mb") { Description = "Data-parallel runs: megabytes of gradients averaged per allreduce (default 25; 0 = one per tensor)." }, (c, v) => c with { BucketMegabytes = v });
        Add(new Option<int>("--checkpoint-steps") { Description = "Also checkpoint every N steps within an epoch." }, (c, v) => c with { CheckpointSteps = v });
        Add(new Option<double>("--checkpoint-minutes") { Description = "Checkpoint within an epoch when this many minutes passed (default 5)." }, (c, v) => c with { CheckpointMinutes = v });
    }

    private void Add<T>(Option<T> option, Func<TrainingConfig, T, TrainingConfig> apply) =>
        _overrides.Add((option, (c, parse) => apply(c, parse.GetValue(option)!)));

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(ConfigFile);
        command.Options.Add(DataDirectory);
        foreach (var (option, _) in _overrides) command.Options.Add(option);
    }

    /// <summary>The config: --config file (or defaults), then the options the user typed.</summary>
    public TrainingConfig Resolve(ParseResult parse, TrainingConfig? defaults = null)
    {
        var config = parse.GetValue(ConfigFile) is { } file ? TrainingConfig.Load(file) : defaults ?? new TrainingConfig();
        foreach (var (option, apply) in _overrides)
            if (parse.GetResult(option) is { Implicit: false }) config = apply(config, parse);
        if (parse.GetValue(DataDirectory) is { } dir) config = config with { DataDirectory = dir };
        return config;
    }

    private static int[] Ints(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{option}: '{s}' is not an integer.")).ToArray();

    /// <summary>Parses a comma-separated list of integers.</summary>
    public static int[] ParseInts(string text, string option) => Ints(text, option);
}
