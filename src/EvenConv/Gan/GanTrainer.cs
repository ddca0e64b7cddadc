using System.Diagnostics;
using System.Text.Json;
using EvenConv.Data;
using EvenConv.IO;
using EvenConv.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan;

/// <summary>
/// Trains one generator/discriminator pair with the hinge loss and Adam, writing into a run folder
/// (<see cref="GanRunFiles"/>): per-step losses, sample grids from a fixed noise batch, atomic checkpoints and the
/// result. Samples and scores come from <see cref="Sampler"/>: the moving average of the generator's weights when
/// <see cref="GanTrainingOptions.GeneratorAverageDecay"/> is set. A run folder with a checkpoint is resumed, and the continuation is identical to an uninterrupted run:
/// every step draws its batch and noise from generators seeded by (seed, step), so no random state lives outside
/// the checkpoint.
/// </summary>
public sealed class GanTrainer : IDisposable
{
    private const string CheckpointMagic = "evenconv-gan-checkpoint/1";
    private readonly GanTrainingOptions _options;
    private readonly GanImages _images;
    private readonly GanRunFiles _files;
    private readonly Adam _optG, _optD;
    private readonly WeightAverage? _average;
    private readonly string _config;

    /// <summary>Builds both networks (initial weights from <see cref="GanTrainingOptions.Seed"/>) and their optimisers.</summary>
    public GanTrainer(GanArchitecture architecture, GanTrainingOptions options, GanImages images, string outputDirectory)
    {
        architecture.Validate();
        _options = options.Validate();
        if (images.Channels != architecture.ImageChannels || images.Resolution != architecture.Resolution)
            throw new ArgumentException($"The images are {images.Channels}×{images.Resolution}×{images.Resolution} but the networks expect {architecture.ImageChannels}×{architecture.Resolution}×{architecture.Resolution}.", nameof(images));
        _images = images;
        _files = new GanRunFiles(outputDirectory);
        manual_seed(options.Seed);
        Generator = new GanGenerator(architecture);
        Discriminator = new GanDiscriminator(architecture);
        _optG = optim.Adam(Generator.parameters(), options.LearningRate, options.Beta1, options.Beta2);
        _optD = optim.Adam(Discriminator.parameters(), options.LearningRate, options.Beta1, options.Beta2);
        // Built after both networks, so the initial weights are those of a run without the average.
        if (options.GeneratorAverageDecay > 0)
        {
            AverageGenerator = new GanGenerator(architecture);
            _average = new WeightAverage(AverageGenerator, Generator, options.GeneratorAverageDecay);
        }
        _config = DescribeRun(architecture, options, images);
    }

    /// <summary>The generator being trained.</summary>
    public GanGenerator Generator { get; }

    /// <summary>The moving average of the generator's weights; null when <see cref="GanTrainingOptions.GeneratorAverageDecay"/> is 0.</summary>
    public GanGenerator? AverageGenerator { get; }

    /// <summary>The generator whose images are the run's samples and score: the average if there is one, else the trained one.</summary>
    public GanGenerator Sampler => AverageGenerator ?? Generator;

    /// <summary>The discriminator being trained.</summary>
    public GanDiscriminator Discriminator { get; }

    /// <summary>The run folder.</summary>
    public GanRunFiles Files => _files;

    /// <summary>
    /// Trains up to <see cref="GanTrainingOptions.Iterations"/> steps, resuming from the run folder's checkpoint if
    /// there is one. A run that already ended (completed to this length, or diverged) returns its stored result and
    /// leaves the networks as checkpointed. Cancellation stops after the current step with a checkpoint written and
    /// then throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public GanTrainingResult Train(IProgress<GanProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_files.Directory);
        var monitor = new DivergenceMonitor(_options.DivergencePatience, _options.DivergenceLossFloor);
        var (start, priorSeconds) = File.Exists(_files.Checkpoint) ? LoadCheckpoint(monitor) : (0, 0.0);
        var previous = ReadResult(_files.Result);
        if (previous is not null && (previous.Outcome == GanOutcome.DidNotConverge || previous.Steps >= _options.Iterations) && start == previous.Steps)
            return previous;
        if (start == 0) AtomicFile.WriteAllText(_files.Config, _config);
        var recent = new Queue<GanStepLog>(KeepLossesUpTo(start));

        using var sampleNoiseSource = SampleNoiseSource();
        using var sampleNoise = Generator.Noise(_options.SampleCount, sampleNoiseSource);
        using var log = new StreamWriter(new FileStream(_files.Losses, FileMode.Append, FileAccess.Write, FileShare.Read));
        var clock = Stopwatch.StartNew();
        var rate = new RateEstimate();
        var step = start;
        string? reason = null;
        Generator.train();
        Discriminator.train();
        while (step < _options.Iterations)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                log.Flush();
                SaveCheckpoint(step, monitor, priorSeconds + clock.Elapsed.TotalSeconds);
                cancellationToken.ThrowIfCancellationRequested();
            }
            step++;
            var stepStart = clock.Elapsed.TotalSeconds;
            var entry = Step(step);
            entry = entry with { Seconds = clock.Elapsed.TotalSeconds - stepStart };
            log.WriteLine(JsonSerializer.Serialize(entry, JsonLineOptions));
            recent.Enqueue(entry);
            if (recent.Count > 100) recent.Dequeue();
            rate.Add(entry.Seconds);

            if (monitor.Observe(step, entry.DLoss, entry.GLoss)) { reason = monitor.Reason; break; }
            if (_options.SampleEvery > 0 && step % _options.SampleEvery == 0) WriteSamples(step, sampleNoise);
            if (step % _options.CheckpointEvery == 0)
            {
                log.Flush();
                SaveCheckpoint(step, monitor, priorSeconds + clock.Elapsed.TotalSeconds);
            }
            progress?.Report(new GanProgress(step, _options.Iterations, entry.DLoss, entry.GLoss,
                _options.BatchSize / rate.SecondsPerStep, TimeSpan.FromSeconds(rate.SecondsPerStep * (_options.Iterations - step))));
        }
        log.Flush();
        var seconds = priorSeconds + clock.Elapsed.TotalSeconds;
        if (_options.SampleEvery == 0 || step % _options.SampleEvery != 0 || reason is not null) WriteSamples(step, sampleNoise);
        if (step % _options.CheckpointEvery != 0 || reason is not null) SaveCheckpoint(step, monitor, seconds);
        var result = new GanTrainingResult(reason is null ? GanOutcome.Completed : GanOutcome.DidNotConverge, reason, step, seconds,
            recent.Count == 0 ? double.NaN : recent.Average(e => e.DLoss), recent.Count == 0 ? double.NaN : recent.Average(e => e.GLoss));
        AtomicFile.WriteAllText(_files.Result, JsonSerializer.Serialize(result, JsonOptions));
        return result;
    }

    /// <summary>One generator step preceded by <see cref="GanTrainingOptions.DiscriminatorSteps"/> discriminator steps.</summary>
    private GanStepLog Step(int step)
    {
        using var scope = NewDisposeScope();
        double dLoss = 0, dReal = 0, dFake = 0;
        for (var k = 0; k < _options.DiscriminatorSteps; k++)
        {
            var real = _images.Batch(BatchIndices(step, k));
            Tensor fake;
            using (no_grad()) fake = Generator.call(Noise(step, 1 + k));
            _optD.zero_grad();
            var realScores = Discriminator.call(real);
            var fakeScores = Discriminator.call(fake);
            var loss = F.relu(1 - realScores).mean() + F.relu(1 + fakeScores).mean();
            loss.backward();
            _optD.step();
            (dLoss, dReal, dFake) = (loss.item<float>(), realScores.mean().item<float>(), fakeScores.mean().item<float>());
        }
        _optG.zero_grad();
        var gLoss = -Discriminator.call(Generator.call(Noise(step, 0))).mean();
        gLoss.backward();
        _optG.step();
        _average?.Update();
        return new GanStepLog(step, dLoss, gLoss.item<float>(), dReal, dFake, 0);
    }

    private int[] BatchIndices(int step, int discriminatorStep)
    {
        var random = new Random(StepSeed(step, 1000 + discriminatorStep));
        var indices = new int[_options.BatchSize];
        for (var i = 0; i < indices.Length; i++) indices[i] = random.Next(_images.Count);
        return indices;
    }

    private Tensor Noise(int step, int stream)
    {
        using var source = new torch.Generator((ulong)(uint)StepSeed(step, stream));
        return Generator.Noise(_options.BatchSize, source);
    }

    private int StepSeed(int step, int stream) => StepSeed(_options.Seed, step, stream);

    /// <summary>The seed of random stream <paramref name="stream"/> at step <paramref name="step"/> of a run seeded
    /// <paramref name="seed"/>: a fixed hash, the same in every process, so a run resumed in a new process draws the
    /// batches and noise an uninterrupted one would (<c>HashCode.Combine</c> is randomised per process).</summary>
    internal static int StepSeed(int seed, int step, int stream) =>
        (int)(new CounterRandom((uint)seed, step, stream, StreamKey).NextUInt64() >> 33);

    private const ulong StreamKey = 0x47414E;   // "GAN": keeps these streams apart from the data pipeline's

    /// <summary>Images from the run's fixed sample noise (the first <paramref name="count"/> of it), in eval mode.</summary>
    public Tensor Samples(int count)
    {
        using var source = SampleNoiseSource();
        using var noise = Generator.Noise(count, source);
        return Generate(noise);
    }

    private torch.Generator SampleNoiseSource() => new((ulong)_options.Seed ^ 0x5A3D_9E11UL);

    private Tensor Generate(Tensor noise)
    {
        var wasTraining = Sampler.training;
        Sampler.eval();
        try
        {
            using var _ = no_grad();
            return Sampler.call(noise);
        }
        finally { Sampler.train(wasTraining); }
    }

    private void WriteSamples(int step, Tensor noise)
    {
        using var images = Generate(noise);
        SampleGrid.WritePng(_files.SamplesAt(step), images, $"{Generator.Architecture.Conv} · seed {_options.Seed} · step {step}");
        AtomicFile.WriteAllBytes(_files.LatestSamples, File.ReadAllBytes(_files.SamplesAt(step)));
    }

    private void SaveCheckpoint(int step, DivergenceMonitor monitor, double seconds) =>
        AtomicFile.Write(_files.Checkpoint, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write(CheckpointMagic);
            writer.Write(_config);
            writer.Write(step);
            writer.Write(monitor.Streak);
            writer.Write(seconds);
            ModuleState.Save(Generator, writer);
            ModuleState.Save(Discriminator, writer);
            AdamState.Save(_optG, writer);
            AdamState.Save(_optD, writer);
            if (_average is not null)
            {
                writer.Write(_average.Updates);
                ModuleState.Save(AverageGenerator!, writer);
            }
        });

    private (int Step, double Seconds) LoadCheckpoint(DivergenceMonitor monitor)
    {
        using var reader = new BinaryReader(File.OpenRead(_files.Checkpoint));
        try
        {
            if (reader.ReadString() != CheckpointMagic) throw new InvalidDataException("not an EvenConv GAN checkpoint");
            var config = reader.ReadString();
            if (config != _config)
                throw new EvenConvException($"{_files.Directory} holds a run with other settings:\n{config}\nThis run:\n{_config}\nUse another --out folder, or the same settings to resume it (only --iters may change).");
            var step = reader.ReadInt32();
            monitor.Streak = reader.ReadInt32();
            var seconds = reader.ReadDouble();
            ModuleState.Load(Generator, reader);
            ModuleState.Load(Discriminator, reader);
            AdamState.Load(_optG, reader);
            AdamState.Load(_optD, reader);
            if (_average is not null)
            {
                _average.Updates = reader.ReadInt64();
                ModuleState.Load(AverageGenerator!, reader);
            }
            return (step, seconds);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ArgumentException)
        {
            throw new EvenConvException($"{_files.Checkpoint} is not a readable GAN checkpoint ({e.Message}); delete it to start the run afresh.", e);
        }
    }

    /// <summary>Cuts <c>losses.jsonl</c> back to the checkpointed step (a crash may have left later lines) and returns the last 100 entries.</summary>
    private List<GanStepLog> KeepLossesUpTo(int step)
    {
        var kept = new List<string>();
        var entries = new List<GanStepLog>();
        if (step > 0 && File.Exists(_files.Losses))
            foreach (var line in File.ReadLines(_files.Losses))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                GanStepLog? entry;
                try { entry = JsonSerializer.Deserialize<GanStepLog>(line, JsonLineOptions); }
                catch (JsonException) { continue; }
                if (entry is null || entry.Step > step) continue;
                kept.Add(line);
                entries.Add(entry);
            }
        AtomicFile.WriteAllText(_files.Losses, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        return entries.TakeLast(100).ToList();
    }

    /// <summary>Reads a run's <c>result.json</c>, or null if it has none.</summary>
    public static GanTrainingResult? ReadResult(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<GanTrainingResult>(File.ReadAllText(path), JsonOptions); }
        catch (JsonException e) { throw new EvenConvException($"{path} is not a readable run result ({e.Message}); delete it to rerun.", e); }
    }

    /// <summary>The settings that fix a run's trajectory; everything but the length, the sampling and checkpoint intervals.</summary>
    private static string DescribeRun(GanArchitecture architecture, GanTrainingOptions options, GanImages images) =>
        JsonSerializer.Serialize(new
        {
            conv = architecture.Conv.ToString(),
            architecture.ImageChannels,
            architecture.Resolution,
            architecture.LatentDim,
            architecture.GeneratorWidth,
            architecture.DiscriminatorWidth,
            options.BatchSize,
            options.LearningRate,
            options.Beta1,
            options.Beta2,
            options.GeneratorAverageDecay,
            options.DiscriminatorSteps,
            options.Seed,
            options.SampleCount,
            options.DivergencePatience,
            options.DivergenceLossFloor,
            data = images.Data.Name,
            images = images.Count,
        }, JsonOptions);

    // Losses can be NaN or infinite in a diverging run: write them as "NaN"/"Infinity" rather than fail.
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static readonly JsonSerializerOptions JsonLineOptions = new() { NumberHandling = JsonOptions.NumberHandling };

    public void Dispose()
    {
        _optG.Dispose();
        _optD.Dispose();
        Generator.Dispose();
        AverageGenerator?.Dispose();
        Discriminator.Dispose();
    }

    /// <summary>Exponential moving average of the step time, for throughput and ETA.</summary>
    private sealed class RateEstimate
    {
        public double SecondsPerStep { get; private set; } = double.NaN;
        public void Add(double seconds) => SecondsPerStep = double.IsNaN(SecondsPerStep) ? seconds : 0.9 * SecondsPerStep + 0.1 * seconds;
    }
}
