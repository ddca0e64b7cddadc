using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EvenConv.Data;
using EvenConv.Layers;

namespace EvenConv.Training;

/// <summary>
/// Everything that defines a training run. Saved with the run (config.json and every checkpoint), loadable from a JSON
/// file, and overridable from the command line. Defaults follow the paper's CIFAR recipe (§3.1.3): SGD with Nesterov
/// momentum 0.9, learning rate 0.1 set once per epoch, weight decay 1e-4 on all weights, pad-4 crop and flip.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Model name in the model registry, e.g. "resnet20".</summary>
    public string Model { get; init; } = "resnet20";
    /// <summary>Convolution kind, e.g. "c3", "c2sp".</summary>
    public string Conv { get; init; } = "c3";
    /// <summary>Data set name or directory (see <see cref="DataSets.Open(string, DataSplit, string?)"/>).</summary>
    public string Data { get; init; } = "fashion-mnist";
    /// <summary>Directory searched first for named data sets.</summary>
    public string? DataDirectory { get; init; }
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 128;
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 0.1;
    /// <summary>"step", "cosine" (both per epoch, as the authors), "cosine-iter" (per iteration, with warm-up) or "constant".</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>Epochs after which a "step" schedule divides the rate by 10; default half and three quarters of the run (150, 225 of 300).</summary>
    public int[]? Milestones { get; init; }
    /// <summary>Linear warm-up length of "cosine-iter", in epochs (may be fractional).</summary>
    public double WarmupEpochs { get; init; }
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; } = true;
    /// <summary>L2 coefficient λ (loss += λ·Σ‖w‖²/2, i.e. gradient += λ·w).</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Parameters excluded from weight decay: "bn" (normalisation γ, β) and/or "bias".</summary>
    public string[] NoDecay { get; init; } = [];
    public double LabelSmoothing { get; init; }
    /// <summary>Pad-and-random-crop margin (0 = off).</summary>
    public int PadCrop { get; init; } = 4;
    public bool HorizontalFlip { get; init; } = true;
    public int Cutout { get; init; }
    public bool NormalizeFirst { get; init; }
    /// <summary>"none", "uniform" (the authors' variant, §3.2) or "beta".</summary>
    public string Mixup { get; init; } = "none";
    public double MixupAlpha { get; init; }
    public ulong Seed { get; init; } = 1;
    /// <summary>Intra-op threads (0 = libtorch's default, one per core).</summary>
    public int Threads { get; init; }
    /// <summary>"cpu" or "cuda" (the latter needs a CUDA build of TorchSharp).</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Evaluation batch size (the authors evaluate in batches of 100).</summary>
    public int EvalBatchSize { get; init; } = 100;
    /// <summary>Use only this many (evenly spaced) training images; null = all.</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Use only this many (evenly spaced) test images; null = all.</summary>
    public int? TestLimit { get; init; }
    /// <summary>Threads preparing batch samples (raise for image folders, whose files are decoded per batch).</summary>
    public int LoaderWorkers { get; init; } = 1;
    /// <summary>Ranks of the data-parallel job that trains the run (1: one process). Set by the trainer from the job it
    /// runs in; the batch of a step is <see cref="BatchSize"/> × Ranks images, so a run resumes with as many ranks.</summary>
    public int Ranks { get; init; } = 1;
    /// <summary>Synchronized batch norm: in a data-parallel job every batch norm normalises with the statistics of the
    /// whole step's batch (all ranks), as one process on it would, instead of each rank's own part.</summary>
    public bool SyncBatchNorm { get; init; }
    /// <summary>Size of the gradient buckets a data-parallel job averages in one allreduce each (0 = every tensor alone).</summary>
    public double BucketMegabytes { get; init; } = 25;
    /// <summary>Write a mid-epoch checkpoint every this many steps (0 = by time only).</summary>
    public int CheckpointSteps { get; init; }
    /// <summary>Write a mid-epoch checkpoint when this many minutes passed since the last one (0 = never by time).</summary>
    public double CheckpointMinutes { get; init; } = 5;

    /// <summary>The parsed convolution kind.</summary>
    [JsonIgnore] public ConvKind ConvKind => ConvKind.Parse(Conv);

    /// <summary>The training augmentation these settings describe.</summary>
    [JsonIgnore]
    public AugmentationOptions Augmentation => new()
    {
        PadCrop = PadCrop, HorizontalFlip = HorizontalFlip, Cutout = Cutout, NormalizeFirst = NormalizeFirst,
        Mixup = Mixup.ToLowerInvariant() switch
        {
            "none" => MixupKind.None,
            "uniform" => MixupKind.Uniform,
            "beta" => MixupKind.Beta,
            _ => throw new ArgumentException($"mixup '{Mixup}' is not one of none, uniform (the authors' variant), beta."),
        },
        MixupAlpha = MixupAlpha,
    };

    /// <summary>Checks every value and names the one that is wrong.</summary>
    public TrainingConfig Validate()
    {
        _ = ConvKind;
        if (Epochs < 1) throw new ArgumentException($"--epochs {Epochs} must be ≥ 1.");
        if (BatchSize < 1) throw new ArgumentException($"--batch {BatchSize} must be ≥ 1.");
        if (EvalBatchSize < 1) throw new ArgumentException($"eval batch size {EvalBatchSize} must be ≥ 1.");
        if (!(LearningRate > 0)) throw new ArgumentException($"--lr {LearningRate} must be > 0.");
        if (WeightDecay < 0) throw new ArgumentException($"--wd {WeightDecay} must be ≥ 0.");
        if (Momentum is < 0 or >= 1) throw new ArgumentException($"momentum {Momentum} must be in [0, 1).");
        if (LabelSmoothing is < 0 or >= 1) throw new ArgumentException($"label smoothing {LabelSmoothing} must be in [0, 1).");
        if (Threads < 0) throw new ArgumentException($"--threads {Threads} must be ≥ 0 (0 = one per core).");
        if (Ranks < 1) throw new ArgumentException($"ranks {Ranks} must be ≥ 1.");
        if (!(BucketMegabytes >= 0)) throw new ArgumentException($"--bucket-mb {BucketMegabytes} must be ≥ 0 (0 = one allreduce per tensor).");
        foreach (var n in NoDecay)
            if (n is not ("bn" or "bias")) throw new ArgumentException($"no-decay '{n}' is not one of bn, bias.");
        if (Device is not ("cpu" or "cuda")) throw new ArgumentException($"--device {Device} is not cpu or cuda.");
        if (TrainLimit is < 1 || TestLimit is < 1) throw new ArgumentException("train/test limits must be ≥ 1.");
        _ = LearningRateSchedule.From(this);
        Augmentation.Validate();
        return this;
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Settings that change how a run executes but not its results: thread counts, where data and checkpoints go,
    /// how gradients are packed for the allreduce.</summary>
    private static readonly HashSet<string> RuntimeSettings = ["threads", "loaderWorkers", "checkpointSteps", "checkpointMinutes", "dataDirectory", "bucketMegabytes"];

    /// <summary>The JSON names of the settings that differ from <paramref name="other"/> and change results
    /// (everything but threads, workers, checkpoint frequency, the data directory and the bucket size).</summary>
    public IReadOnlyList<string> RecipeDifferences(TrainingConfig other)
    {
        var mine = JsonNode.Parse(ToJson())!.AsObject();
        var theirs = JsonNode.Parse(other.ToJson())!.AsObject();
        return mine.Select(p => p.Key).Union(theirs.Select(p => p.Key)).Where(k => !RuntimeSettings.Contains(k))
            .Where(k => !JsonNode.DeepEquals(mine[k], theirs[k])).ToArray();
    }

    /// <summary>Parses a config; unknown keys are errors (a misspelt key would otherwise be silently ignored).</summary>
    public static TrainingConfig FromJson(string json, string source)
    {
        try { return JsonSerializer.Deserialize<TrainingConfig>(json, Json) ?? throw new InvalidDataException($"{source}: empty config."); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not a valid training config ({e.Message}).", e); }
    }

    public static TrainingConfig Load(string path) => FromJson(File.ReadAllText(path), path);
}
