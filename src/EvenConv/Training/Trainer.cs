using System.Diagnostics;
using System.Text.Json;
using EvenConv.Complexity;
using EvenConv.Data;
using EvenConv.Distributed;
using EvenConv.IO;
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
/// As one rank of a data-parallel job (<see cref="Communicator"/>) it trains on its shard of every batch and averages
/// gradients with the other ranks (docs/distributed.md); rank 0 alone writes the run's files.
/// </summary>
public sealed class Trainer(TrainingConfig config, string outputDirectory, ModelFactory modelFactory)
{
    public const string CheckpointFile = "last.ckpt";
    public const string ConfigFile = "config.json";
    public const string ResultFile = "result.json";

    private static readonly JsonSerializerOptions ResultJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Receives progress reports on the training thread; keep it quick.</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>The data-parallel job this trainer is a rank of (default: a single process).</summary>
    public ICommunicator Communicator { get; init; } = SingleProcess.Instance;

    private bool IsRoot => Communicator.Rank == 0;

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
        var ranks = Communicator.Size;
        // Rank 0 looks at the run directory (the others may not see it) and hands every rank the checkpoint's bytes.
        var checkpoint = Communicator.BroadcastFromRoot(() =>
        {
            var exists = File.Exists(CheckpointPath);
            if (!resume && exists) throw new EvenConvException($"{outputDirectory} already holds a run ({CheckpointFile}); continue it with --resume or choose another --out.");
            if (resume && !exists) throw new EvenConvException($"{outputDirectory} has no {CheckpointFile} to resume from; start the run without --resume.");
            return resume ? File.ReadAllBytes(CheckpointPath) : [];
        });
        if (!resume) return (config.Validate() with { Ranks = ranks }, new TrainingPosition(), [], null);
        var (header, tensors) = Checkpoint.Read(new MemoryStream(checkpoint, writable: false), CheckpointPath);
        if (header.Config.Ranks != ranks)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new EvenConvException($"{outputDirectory} was trained by {header.Config.Ranks} rank(s) (a step's batch is {header.Config.Ranks} × {header.Config.BatchSize} images) " +
                $"but this job has {ranks}; resume it with {(header.Config.Ranks == 1 ? "one process (no mpirun)" : $"mpirun -np {header.Config.Ranks}")}.");
        }
        // The saved config defines the run; only settings that cannot change its results come from the caller.
        var cfg = header.Config with
        {
            Threads = config.Threads, LoaderWorkers = config.LoaderWorkers, DataDirectory = config.DataDirectory ?? header.Config.DataDirectory,
            CheckpointSteps = config.CheckpointSteps, CheckpointMinutes = config.CheckpointMinutes, BucketMegabytes = config.BucketMegabytes,
        };
        return (cfg.Validate(), header.Position, header.History.ToList(), tensors);
    }

    /// <summary>The config saved with the run in <paramref name="outputDirectory"/>, read by rank 0 of
    /// <paramref name="communicator"/> and handed to every rank (the command line resolves a resumed run against it).</summary>
    public static TrainingConfig SavedConfig(string outputDirectory, ICommunicator communicator)
    {
        var path = Path.Combine(outputDirectory, CheckpointFile);
        var json = communicator.BroadcastFromRoot(() => File.Exists(path)
            ? System.Text.Encoding.UTF8.GetBytes(Checkpoint.ReadHeader(path).Config.ToJson())
            : throw new EvenConvException($"{outputDirectory} has no {CheckpointFile} to resume from; start the run without --resume."));
        return TrainingConfig.FromJson(System.Text.Encoding.UTF8.GetString(json), path);
    }

    private TrainingResult Train(TrainingConfig cfg, TrainingPosition position, List<EpochMetrics> history, Dictionary<string, Tensor>? saved, CancellationToken cancellation)
    {
        var comm = Communicator;
        if (cfg.Threads > 0) set_num_threads(cfg.Threads);
        else if (comm.Size > 1) set_num_threads(Job.ThreadsPerRank(comm));
        EvenConv.Runtime.ResetPeakResident(); // peak memory per run, also when a sweep trains many in one process
        var device = ResolveDevice(cfg.Device);
        if (IsRoot)
        {
            Directory.CreateDirectory(outputDirectory);
            AtomicFile.WriteAllText(Path.Combine(outputDirectory, ConfigFile), cfg.ToJson());
        }

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
            Shard = comm.Rank, Shards = comm.Size, DropBatchSmallerThanShards = true,
        });
        var testLoader = new BatchLoader(test, normalization, new BatchLoaderOptions
        {
            BatchSize = cfg.EvalBatchSize, Workers = cfg.LoaderWorkers, Shard = comm.Rank, Shards = comm.Size,
        });
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
        // Every rank starts from rank 0's weights, batch-norm statistics and momentum (Horovod's broadcast).
        comm.BroadcastFromRoot(model);
        comm.BroadcastFromRoot(optimizer.Velocities.Select(v => v.Velocity));
        var gradients = comm.Size > 1 ? new GradientBuckets(model, (long)(cfg.BucketMegabytes * 1024 * 1024)) : null;
        using var syncNorm = cfg.SyncBatchNorm && comm.Size > 1 ? SyncBatchNorm.Across(comm) : null;
        var parameters = model.parameters().Sum(p => p.numel());
        var batches = loader.BatchesPerEpoch;
        var totalSteps = (long)cfg.Epochs * batches;
        var sinceCheckpoint = Stopwatch.StartNew();
        var runClock = Stopwatch.StartNew();
        var stepsThisSession = 0L;

        void Save(TrainingPosition at)
        {
            if (IsRoot) Checkpoint.Save(CheckpointPath, new CheckpointHeader(cfg, at, history, normalization, DateTime.UtcNow), model, optimizer);
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
                var done = batch.Index + 1;
                using (var scope = NewDisposeScope())
                {
                    var x = batch.Images().to(device);
                    var y = batch.Targets().to(device);
                    var logits = model.call(x);
                    var loss = Loss(logits, y, batch, cfg.LabelSmoothing, device);
                    // The step's loss and accuracy sums and its images, over all ranks: a NaN on any rank stops all alike.
                    Span<double> shared = [(double)loss.item<float>() * batch.Count, logits.argmax(1).eq(y).sum().item<long>(), batch.Count];
                    comm.AllreduceSum(shared);
                    var value = shared[0] / shared[2];
                    if (!double.IsFinite(value))
                        throw new EvenConvException($"loss is {value} at epoch {epoch}, batch {batch.Index + 1} of {batches} (step {step + 1}); training stopped. " +
                            (File.Exists(CheckpointPath) ? $"The last good checkpoint is kept in {CheckpointPath}. " : "") +
                            "Lower --lr (or add warm-up with --schedule cosine-iter), or check the data.");
                    optimizer.ZeroGrad();
                    loss.backward();
                    gradients?.Average(comm, batch.Count / shared[2]);
                    optimizer.Step(lr);
                    lossSum += shared[0];
                    correct += (long)shared[1];
                    seen += (long)shared[2];
                    step++;
                }
                stepsThisSession++;
                if (Progress is not null)
                {
                    var perStep = runClock.Elapsed.TotalSeconds / stepsThisSession;
                    Progress(new TrainingProgress(epoch, cfg.Epochs, done, batches, lossSum / seen,
                        (seen - pos.EpochSeen) / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9), lr, TimeSpan.FromSeconds(perStep * (totalSteps - step))));
                }
                // Checkpoint and stop together: rank 0 keeps the clock, and a stop asked of any rank stops all.
                Span<double> decisions =
                [
                    IsRoot && done < batches && ((cfg.CheckpointSteps > 0 && step % cfg.CheckpointSteps == 0) ||
                                                  (cfg.CheckpointMinutes > 0 && sinceCheckpoint.Elapsed.TotalMinutes >= cfg.CheckpointMinutes)) ? 1 : 0,
                    cancellation.IsCancellationRequested ? 1 : 0,
                ];
                comm.AllreduceSum(decisions);
                if (decisions[0] > 0 && decisions[1] == 0) Save(Here(done));
                if (decisions[1] > 0)
                {
                    Save(Here(done));
                    throw new OperationCanceledException($"stopped at epoch {epoch}, batch {done}; continue with --resume.");
                }
            }

            var trainSeconds = epochClock.Elapsed.TotalSeconds;
            var evaluation = Evaluate(model, testLoader, device, cancellation, out var stopAfterEpoch);
            var metrics = new EpochMetrics(epoch, lr, lossSum / seen, (double)correct / seen, evaluation.Loss, evaluation.Error,
                (seen - pos.EpochSeen) / Math.Max(trainSeconds, 1e-9), pos.EpochStallSeconds + loader.StallTime.TotalSeconds,
                pos.EpochComputeSeconds + trainSeconds, EvenConv.Runtime.PeakResidentBytes());
            history.Add(metrics);
            position = new TrainingPosition { Epoch = epoch + 1, GlobalStep = step, TrainSeconds = pos.TrainSeconds + trainSeconds };
            Save(position);
            if (IsRoot) EpochMetrics.WriteAll(outputDirectory, history);
            Progress?.Invoke(new TrainingProgress(epoch, cfg.Epochs, batches, batches, metrics.TrainLoss, metrics.ImagesPerSecond, lr,
                TimeSpan.FromSeconds(runClock.Elapsed.TotalSeconds / Math.Max(stepsThisSession, 1) * (totalSteps - step)), metrics));
            if (stopAfterEpoch)
                throw new OperationCanceledException($"stopped after epoch {epoch}; continue with --resume.");
        }

        var macs = ModelComplexity.Count(model, train.Channels, train.Height, train.Width).Macs;
        var result = Summarise(cfg, history, parameters, macs, position.TrainSeconds);
        if (IsRoot) AtomicFile.WriteAllText(Path.Combine(outputDirectory, ResultFile), JsonSerializer.Serialize(result, ResultJson));
        return result;
    }

    /// <summary>Test loss and error over all ranks' shards of the test set, and whether any rank is asked to stop.</summary>
    private EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, BatchLoader testLoader, Device device, CancellationToken cancellation, out bool stop)
    {
        var mine = Evaluator.Evaluate(model, testLoader, device);
        if (Communicator.Size == 1)
        {
            stop = cancellation.IsCancellationRequested;
            return mine;
        }
        Span<double> sums = [mine.Count == 0 ? 0 : mine.Loss * mine.Count, mine.Count == 0 ? 0 : mine.Error * mine.Count, mine.Count, cancellation.IsCancellationRequested ? 1 : 0];
        Communicator.AllreduceSum(sums);
        stop = sums[3] > 0;
        return new EvaluationResult(sums[0] / sums[2], Math.Round(sums[1]) / sums[2], (int)sums[2]);
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

    private static TrainingResult Summarise(TrainingConfig cfg, List<EpochMetrics> history, long parameters, long macs, double trainSeconds)
    {
        var last = history[^1];
        var best = history.MinBy(m => m.TestError)!;
        var images = history.Sum(m => m.ImagesPerSecond * m.EpochSeconds);
        return new TrainingResult(cfg.Model, cfg.Conv, cfg.Data, cfg.Seed, cfg.Epochs, parameters, macs, last.TestError, best.TestError, best.Epoch,
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
