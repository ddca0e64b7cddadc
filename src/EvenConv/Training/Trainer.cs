using EvenConv.IO;
using System.Diagnostics;
using System.Text.Json;
using EvenConv.Data;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Training;

/// <summary>Builds the model a run trains, for its config and training set (channels, classes, image size).</summary>
public delegate nn.Module<Tensor, Tensor> ModelFactory(TrainingConfig config, IImageDataset train);

/// <summary>
/// Trains a classifier as <see cref="TrainingConfig"/> says, in an output directory that holds the resolved config,
/// last.ckpt (every epoch and periodically within one), metrics.jsonl/csv and, at the end, result.json. A run
/// resumed from its checkpoint continues bit for bit: batches are keyed by (seed, epoch, batch), and the checkpoint
/// holds the weights, BatchNorm statistics, momentum buffers, libtorch's generator and the epoch's partial sums.
/// </summary>
public sealed class Trainer(TrainingConfig config, string outputDirectory, ModelFactory modelFactory)
{
    public const string CheckpointFile = "last.ckpt";
    public const string ConfigFile = "config.json";
    public const string ResultFile = "result.json";

    private static readonly JsonSerializerOptions ResultJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Receives progress reports on the training thread; keep it quick.</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    public string CheckpointPath => Path.Combine(outputDirectory, CheckpointFile);

    /// <summary>Trains to the end (or continues from last.ckpt with <paramref name="resume"/>). Cancellation stops at
    /// the next step after writing a checkpoint, then throws <see cref="OperationCanceledException"/>.</summary>
    public TrainingResult Run(bool resume = false, CancellationToken cancellation = default)
    {
        var (cfg, position, history, saved) = Start(resume);
        try
        {
            return Train(cfg, position, history, saved, cancellation);
        }
        finally
        {
            if (saved is not null) foreach (var t in saved.Values) t.Dispose();
        }
    }

    private (TrainingConfig, TrainingPosition, List<EpochMetrics>, Dictionary<string, Tensor>?) Start(bool resume)
    {
        var exists = File.Exists(CheckpointPath);
        if (!resume)
        {
            if (exists) throw new EvenConvException($"{outputDirectory} already holds a run ({CheckpointFile}); continue it with --resume or choose another --out.");
            return (config.Validate(), new TrainingPosition(), [], null);
        }
        if (!exists) throw new EvenConvException($"{outputDirectory} has no {CheckpointFile} to resume from; start the run without --resume.");
        var (header, tensors) = Checkpoint.Read(CheckpointPath);
        // The saved config defines the run; only settings that cannot change its results come from the caller.
        var cfg = header.Config with
        {
            Threads = config.Threads, LoaderWorkers = config.LoaderWorkers, DataDirectory = config.DataDirectory ?? header.Config.DataDirectory,
            CheckpointSteps = config.CheckpointSteps, CheckpointMinutes = config.CheckpointMinutes,
        };
        return (cfg.Validate(), header.Position, header.History.ToList(), tensors);
    }

    private TrainingResult Train(TrainingConfig cfg, TrainingPosition position, List<EpochMetrics> history, Dictionary<string, Tensor>? saved, CancellationToken cancellation)
    {
        if (cfg.Threads > 0) set_num_threads(cfg.Threads);
        var device = ResolveDevice(cfg.Device);
        Directory.CreateDirectory(outputDirectory);
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, ConfigFile), cfg.ToJson());

        var fullTrain = DataSets.Open(cfg.Data, DataSplit.Train, cfg.DataDirectory);
        var fullTest = DataSets.Open(cfg.Data, DataSplit.Test, cfg.DataDirectory);
        var normalization = ChannelNormalization.For(fullTrain);
        IImageDataset train = cfg.TrainLimit is { } tl ? new DatasetSubset(fullTrain, tl) : fullTrain;
        IImageDataset test = cfg.TestLimit is { } vl ? new DatasetSubset(fullTest, vl) : fullTest;
        if (train.ClassNames.Count != test.ClassNames.Count || train.Channels != test.Channels || train.Height != test.Height || train.Width != test.Width)
            throw new InvalidDataException($"{cfg.Data}: the train and test splits differ in classes or image size.");
        var loader = new BatchLoader(train, normalization, new BatchLoaderOptions
        {
            BatchSize = cfg.BatchSize, Shuffle = true, Augmentation = cfg.Augmentation, Seed = cfg.Seed, Workers = cfg.LoaderWorkers,
        });
        var testLoader = new BatchLoader(test, normalization, new BatchLoaderOptions { BatchSize = cfg.EvalBatchSize, Workers = cfg.LoaderWorkers });
        var schedule = LearningRateSchedule.From(cfg);

        manual_seed((long)cfg.Seed);
        using var model = modelFactory(cfg, train);
        model.to(device);
        model.train();
        using var optimizer = new NesterovSgd(model, cfg.Momentum, cfg.Nesterov, cfg.WeightDecay, cfg.NoDecay);
        if (saved is not null)
        {
            Checkpoint.LoadModel(model, saved, CheckpointPath);
            Checkpoint.LoadOptimizer(optimizer, saved, CheckpointPath);
        }
        var parameters = model.parameters().Sum(p => p.numel());
        var batches = loader.BatchesPerEpoch;
        var totalSteps = (long)cfg.Epochs * batches;
        var sinceCheckpoint = Stopwatch.StartNew();
        var runClock = Stopwatch.StartNew();
        var stepsThisSession = 0L;

        void Save(TrainingPosition at)
        {
            Checkpoint.Save(CheckpointPath, new CheckpointHeader(cfg, at, history, DateTime.UtcNow), model, optimizer);
            sinceCheckpoint.Restart();
        }

        for (var epoch = position.Epoch; epoch <= cfg.Epochs; epoch++)
        {
            var pos = position.Epoch == epoch ? position : new TrainingPosition { Epoch = epoch, GlobalStep = position.GlobalStep, TrainSeconds = position.TrainSeconds };
            var epochClock = Stopwatch.StartNew();
            double lossSum = pos.EpochLossSum, lr = 0;
            long correct = pos.EpochCorrect, seen = pos.EpochSeen, step = pos.GlobalStep;
            TrainingPosition Here(int nextBatch) => new()
            {
                Epoch = epoch, NextBatch = nextBatch, GlobalStep = step, EpochLossSum = lossSum, EpochCorrect = correct, EpochSeen = seen,
                EpochComputeSeconds = pos.EpochComputeSeconds + epochClock.Elapsed.TotalSeconds,
                EpochStallSeconds = pos.EpochStallSeconds + loader.StallTime.TotalSeconds,
                TrainSeconds = pos.TrainSeconds + epochClock.Elapsed.TotalSeconds,
            };

            // Cancellation is checked between steps, where a checkpoint can be written, not while waiting for a batch.
            foreach (var batch in loader.Epoch(epoch, pos.NextBatch, CancellationToken.None))
            {
                lr = schedule.At(epoch, batch.Index, batches);
                using (var scope = NewDisposeScope())
                {
                    var x = batch.Images().to(device);
                    var y = batch.Targets().to(device);
                    var logits = model.call(x);
                    var loss = Loss(logits, y, batch, cfg.LabelSmoothing, device);
                    var value = loss.item<float>();
                    if (!float.IsFinite(value))
                        throw new EvenConvException($"loss is {value} at epoch {epoch}, batch {batch.Index + 1} of {batches} (step {step + 1}); training stopped. " +
                            (File.Exists(CheckpointPath) ? $"The last good checkpoint is kept in {CheckpointPath}. " : "") +
                            "Lower --lr (or add warm-up with --schedule cosine-iter), or check the data.");
                    optimizer.ZeroGrad();
                    loss.backward();
                    optimizer.Step(lr);
                    lossSum += (double)value * batch.Count;
                    correct += logits.argmax(1).eq(y).sum().item<long>();
                    seen += batch.Count;
                    step++;
                }
                stepsThisSession++;
                var done = batch.Index + 1;
                if (Progress is not null)
                {
                    var perStep = runClock.Elapsed.TotalSeconds / stepsThisSession;
                    Progress(new TrainingProgress(epoch, cfg.Epochs, done, batches, lossSum / seen,
                        (seen - pos.EpochSeen) / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9), lr, TimeSpan.FromSeconds(perStep * (totalSteps - step))));
                }
                if (done < batches && ((cfg.CheckpointSteps > 0 && step % cfg.CheckpointSteps == 0) ||
                                       (cfg.CheckpointMinutes > 0 && sinceCheckpoint.Elapsed.TotalMinutes >= cfg.CheckpointMinutes)))
                    Save(Here(done));
                if (cancellation.IsCancellationRequested)
                {
                    Save(Here(done));
                    throw new OperationCanceledException($"stopped at epoch {epoch}, batch {done}; continue with --resume.");
                }
            }

            var trainSeconds = epochClock.Elapsed.TotalSeconds;
            var evaluation = Evaluator.Evaluate(model, testLoader, device);
            var at = Here(0);
            var computeSeconds = pos.EpochComputeSeconds + trainSeconds;
            var metrics = new EpochMetrics(epoch, lr, lossSum / seen, (double)correct / seen, evaluation.Loss, evaluation.Error,
                (seen - pos.EpochSeen) / Math.Max(trainSeconds, 1e-9), at.EpochStallSeconds, computeSeconds, EvenConv.Runtime.PeakResidentBytes());
            history.Add(metrics);
            position = new TrainingPosition { Epoch = epoch + 1, GlobalStep = step, TrainSeconds = pos.TrainSeconds + trainSeconds };
            Save(position);
            EpochMetrics.WriteAll(outputDirectory, history);
            Progress?.Invoke(new TrainingProgress(epoch, cfg.Epochs, batches, batches, metrics.TrainLoss, metrics.ImagesPerSecond, lr,
                TimeSpan.FromSeconds(runClock.Elapsed.TotalSeconds / Math.Max(stepsThisSession, 1) * (totalSteps - step)), metrics));
            if (cancellation.IsCancellationRequested)
                throw new OperationCanceledException($"stopped after epoch {epoch}; continue with --resume.");
        }

        var result = Summarise(cfg, history, parameters, position.TrainSeconds);
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, ResultFile), JsonSerializer.Serialize(result, ResultJson));
        return result;
    }

    /// <summary>Cross-entropy (with optional label smoothing); under mixup the two targets' losses weighted per sample.</summary>
    private static Tensor Loss(Tensor logits, Tensor y, Batch batch, double smoothing, Device device)
    {
        if (batch.MixLabels is null) return F.cross_entropy(logits, y, label_smoothing: smoothing);
        var y2 = tensor(batch.MixLabels).to(device);
        var w = tensor(batch.MixWeights!).to(device);
        var first = F.cross_entropy(logits, y, reduction: nn.Reduction.None, label_smoothing: smoothing);
        var second = F.cross_entropy(logits, y2, reduction: nn.Reduction.None, label_smoothing: smoothing);
        return ((1 - w) * first + w * second).mean();
    }

    private static TrainingResult Summarise(TrainingConfig cfg, List<EpochMetrics> history, long parameters, double trainSeconds)
    {
        var last = history[^1];
        var best = history.MinBy(m => m.TestError)!;
        var images = history.Sum(m => m.ImagesPerSecond * m.EpochSeconds);
        return new TrainingResult(cfg.Model, cfg.Conv, cfg.Data, cfg.Seed, cfg.Epochs, parameters, last.TestError, best.TestError, best.Epoch,
            last.TrainLoss, trainSeconds, images / Math.Max(history.Sum(m => m.EpochSeconds), 1e-9), history.Sum(m => m.StallSeconds),
            history.Max(m => m.PeakMemoryBytes));
    }

    /// <summary>Reads result.json of a finished run, or null.</summary>
    public static TrainingResult? ReadResult(string runDirectory)
    {
        var path = Path.Combine(runDirectory, ResultFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<TrainingResult>(File.ReadAllText(path), ResultJson) : null;
    }

    /// <summary>The libtorch device for "cpu" or "cuda"; CUDA needs a CUDA build of TorchSharp and a GPU.</summary>
    public static Device ResolveDevice(string name)
    {
        if (name == "cpu") return CPU;
        if (!cuda.is_available())
            throw new EvenConvException("--device cuda: no CUDA device is available to this TorchSharp build (EvenConv ships TorchSharp-cpu; " +
                "reference TorchSharp-cuda-linux instead and run on a machine with an NVIDIA GPU), or use --device cpu.");
        return CUDA;
    }
}
