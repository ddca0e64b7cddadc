using System.Collections.Concurrent;
using System.Diagnostics;
using EvenConv.Data;
using EvenConv.Distributed;
using EvenConv.Tests.Data;
using EvenConv.Tests.Reference;
using EvenConv.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Tests.Distributed;

/// <summary>
/// Data-parallel training as users run it: the real CLI under <c>mpirun --oversubscribe -np 2</c> on this machine
/// (ResNet-8 with C2sp, 192 images of 8×8, 4 per rank, 3 epochs = 72 steps). Two ranks give the weights of one
/// process that averages the gradients of the same two half-batches; with --sync-bn, those of one process on the
/// whole batch; a killed job resumes to the uninterrupted result; a rank that dies ends the job. Skipped with the
/// reason where Open MPI is not installed (CI installs openmpi-bin).
/// </summary>
[Collection(TinyTensors.Name)]
public sealed class MpiTrainingTests(MpiTrainingTests.Runs runs) : IClassFixture<MpiTrainingTests.Runs>
{
    private const int Epochs = 3, PerRank = 4;
    private static readonly string[] Recipe =
        ["--model", "resnet8", "--conv", "c2sp", "--epochs", "3", "--lr", "0.05", "--seed", "5", "--threads", "1", "--checkpoint-steps", "1"];

    /// <summary>The CLI runs the tests share (each is made once per test class).</summary>
    public sealed class Runs : IDisposable
    {
        private readonly ConcurrentDictionary<string, string> _done = new();
        public TestData Data { get; } = new();
        public string DataDir => _dataDir ??= Data.WriteIdxSet("shapes", count: 192, h: 8, w: 8, classes: 4);
        private string? _dataDir;

        public string Get(string name, int ranks, params string[] extra) =>
            _done.GetOrAdd(name, n =>
            {
                var dir = Data.PathOf(n);
                using var run = Start(ranks, dir, DataDir, extra);
                Finish(run);
                return dir;
            });

        public void Dispose() => Data.Dispose();
    }

    private static string? MpirunPath => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    private static void SkipWithoutMpi()
    {
        Skip.If(MpirunPath is null, "mpirun is not installed (Debian: sudo apt-get install openmpi-bin; CI installs it)");
        var why = MpiCommunicator.Unavailable;
        Skip.If(why is not null, why);
    }

    /// <summary><c>train</c> as <paramref name="ranks"/> MPI ranks (mpirun) or, for 0, as one plain process.</summary>
    private static Process Start(int ranks, string output, string dataDir, IEnumerable<string> extra, bool resume = false)
    {
        var info = new ProcessStartInfo(ranks == 0 ? "dotnet" : MpirunPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (ranks > 0)
            foreach (var arg in new[] { "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", ranks.ToString(), "dotnet" }) info.ArgumentList.Add(arg);
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EvenConv.Cli.dll"));
        var args = new[] { "train", "--out", output, "--data", dataDir }.Concat(Recipe).Concat(extra.Contains("--batch") ? extra : [.. extra, "--batch", $"{PerRank}"]);
        if (ranks > 0) args = args.Append("--distributed").Append("mpi");
        if (resume) args = args.Append("--resume");
        foreach (var arg in args) info.ArgumentList.Add(arg);
        return Process.Start(info)!;
    }

    private static string Finish(Process process, int? exitCode = 0)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(180_000), "the job did not finish");
        var output = stdout.Result + stderr.Result;
        if (exitCode is { } expected) Assert.True(process.ExitCode == expected, $"exit {process.ExitCode}: {output}");
        else Assert.True(process.ExitCode != 0, $"the job should have failed: {output}");
        return output;
    }

    private static Dictionary<string, Tensor> State(string run) => Checkpoint.Read(Path.Combine(run, Trainer.CheckpointFile)).Tensors;

    private static void AssertClose(Tensor expected, Tensor actual, string what, double tolerance)
    {
        var a = expected.to_type(ScalarType.Float64);
        var b = actual.to_type(ScalarType.Float64);
        var error = (a - b).abs().max().item<double>() / (a.abs().max().item<double>() + 1e-12);
        Assert.True(error <= tolerance, $"{what}: relative error {error:G3} > {tolerance:G3}");
    }

    [SkippableFact]
    public void Two_ranks_train_as_one_process_that_averages_the_gradients_of_their_half_batches()
    {
        SkipWithoutMpi();
        var run = runs.Get("two-ranks", 2);
        var config = new TrainingConfig { Model = "resnet8", Conv = "c2sp", Data = runs.DataDir, Epochs = Epochs, BatchSize = PerRank, LearningRate = 0.05, Seed = 5 };
        Assert.Equal((config with { Ranks = 2, Threads = 1, CheckpointSteps = 1 }).ToJson(), Checkpoint.ReadHeader(Path.Combine(run, Trainer.CheckpointFile)).Config.ToJson());

        // The reference: one process, two half-batches a step, their gradients (and batch-norm statistics) averaged.
        var train = DataSets.Open(config.Data, DataSplit.Train, null);
        var normalization = ChannelNormalization.For(train);
        var halves = Enumerable.Range(0, 2).Select(r => new BatchLoader(train, normalization, new BatchLoaderOptions
        {
            BatchSize = PerRank, Shuffle = true, Augmentation = config.Augmentation, Seed = config.Seed, Shard = r, Shards = 2, DropBatchSmallerThanShards = true,
        })).ToArray();
        manual_seed((long)config.Seed);
        using var model = ClassifierModels.Create(config, train);
        model.train();
        using var optimizer = new NesterovSgd(model, config.Momentum, config.Nesterov, config.WeightDecay, config.NoDecay);
        var schedule = LearningRateSchedule.From(config);
        var batches = halves[0].BatchesPerEpoch;
        for (var epoch = 1; epoch <= Epochs; epoch++)
            for (var b = 0; b < batches; b++)
            {
                using var scope = NewDisposeScope();
                var before = model.named_buffers().ToDictionary(x => x.name, x => x.buffer.clone());
                var grads = new List<Dictionary<string, Tensor>>();
                var buffers = new List<Dictionary<string, Tensor>>();
                var counts = new List<int>();
                foreach (var half in halves)
                {
                    var batch = half.Prepare(epoch, b);
                    optimizer.ZeroGrad();
                    F.cross_entropy(model.call(batch.Images()), batch.Targets()).backward();
                    grads.Add(model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
                    buffers.Add(model.named_buffers().ToDictionary(x => x.name, x => x.buffer.clone()));
                    counts.Add(batch.Count);
                    using (no_grad()) foreach (var (name, buffer) in model.named_buffers()) buffer.copy_(before[name]);
                }
                double w0 = (double)counts[0] / counts.Sum(), w1 = (double)counts[1] / counts.Sum();
                using (no_grad())
                {
                    foreach (var (name, p) in model.named_parameters()) p.grad!.copy_(grads[0][name] * w0 + grads[1][name] * w1);
                    foreach (var (name, buffer) in model.named_buffers())
                        buffer.copy_(buffer.is_floating_point() ? buffers[0][name] * w0 + buffers[1][name] * w1 : buffers[0][name]);
                }
                optimizer.Step(schedule.At(epoch, b, batches));
            }

        var state = State(run);
        foreach (var (name, expected) in model.state_dict()) AssertClose(expected, state["model." + name], name, 1e-4);
        foreach (var (name, velocity) in optimizer.Velocities) AssertClose(velocity, state["velocity." + name], "momentum of " + name, 1e-3);
    }

    [SkippableFact]
    public void With_sync_bn_two_ranks_of_B_images_train_as_one_process_on_2B()
    {
        SkipWithoutMpi();
        var two = runs.Get("two-ranks-sync-bn", 2, "--batch", $"{PerRank}", "--sync-bn");
        var one = runs.Get("one-process-2b", 0, "--batch", $"{2 * PerRank}", "--sync-bn");
        var expected = State(one);
        var actual = State(two);
        foreach (var (name, value) in expected.Where(kv => kv.Key != "rng")) AssertClose(value, actual[name], name, name.StartsWith("velocity", StringComparison.Ordinal) ? 1e-3 : 1e-4);
        var a = EpochMetrics.ReadAll(one);
        var b = EpochMetrics.ReadAll(two);
        Assert.Equal(Epochs, b.Count);
        foreach (var (x, y) in a.Zip(b))
        {
            Assert.Equal(x.TrainLoss, y.TrainLoss, 1e-4);
            Assert.Equal(x.TrainAccuracy, y.TrainAccuracy, 1e-9);
            Assert.Equal(x.TestLoss, y.TestLoss, 1e-3);
        }
    }

    [SkippableFact]
    public void A_killed_two_rank_job_resumes_to_the_uninterrupted_result()
    {
        SkipWithoutMpi();
        var whole = runs.Get("two-ranks", 2);
        var killed = runs.Data.PathOf("killed");
        var checkpoint = Path.Combine(killed, Trainer.CheckpointFile);
        using (var run = StartAndWaitForMidEpochCheckpoint(killed))
        {
            run.Kill(entireProcessTree: true);
            run.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(killed, Trainer.ResultFile)), "the job finished before it could be killed");
        using (var run = Start(2, killed, runs.DataDir, [], resume: true)) Finish(run);

        var expected = State(whole);
        var actual = State(killed);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, value) in expected) Assert.True(value.bytes.SequenceEqual(actual[name].bytes), $"{name} differs");
        Assert.Equal(EpochMetrics.ReadAll(whole).Select(m => (m.TrainLoss, m.TestLoss, m.TestError)),
                     EpochMetrics.ReadAll(killed).Select(m => (m.TrainLoss, m.TestLoss, m.TestError)));

        // A run of 2 ranks resumes with 2: one process is refused with the command to use.
        using (var run = Start(0, killed, runs.DataDir, [], resume: true))
            Assert.Contains("mpirun -np 2", Finish(run, exitCode: 1));
    }

    [SkippableFact]
    public void A_rank_that_dies_ends_the_job_with_a_message_and_leaves_whole_files()
    {
        SkipWithoutMpi();
        var dir = runs.Data.PathOf("rank-dies");
        var checkpoint = Path.Combine(dir, Trainer.CheckpointFile);
        string output;
        using (var run = StartAndWaitForMidEpochCheckpoint(dir))
        {
            var rank1 = ChildRanks(run.Id).Single(p => p.Rank == 1).Pid;
            Process.GetProcessById(rank1).Kill();
            output = Finish(run, exitCode: null);
        }
        Assert.Contains("rank 1", output);
        Assert.False(File.Exists(Path.Combine(dir, Trainer.ResultFile)));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        var (header, tensors) = Checkpoint.Read(checkpoint);   // whole, and the job resumes from it
        foreach (var t in tensors.Values) t.Dispose();
        Assert.Equal(2, header.Config.Ranks);
        Assert.Equal(header.History.Count, EpochMetrics.ReadAll(dir).Count);
    }

    /// <summary>Starts the recipe's job into <paramref name="dir"/> and returns once a checkpoint from the middle of epoch 2
    /// or later is there. The header reader is warmed up first: its first call (JIT, JSON contracts) takes seconds on a
    /// loaded machine, longer than the whole tiny job.</summary>
    private Process StartAndWaitForMidEpochCheckpoint(string dir)
    {
        Checkpoint.ReadHeader(Path.Combine(runs.Get("two-ranks", 2), Trainer.CheckpointFile));
        var run = Start(2, dir, runs.DataDir, []);
        WaitForMidEpochCheckpoint(run, Path.Combine(dir, Trainer.CheckpointFile));
        return run;
    }

    private static void WaitForMidEpochCheckpoint(Process run, string checkpoint)
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (!(File.Exists(checkpoint) && Checkpoint.ReadHeader(checkpoint).Position is { Epoch: >= 2, NextBatch: > 0 }))
        {
            if (run.HasExited) Assert.Fail($"the job ended (exit {run.ExitCode}) before a mid-epoch checkpoint: {run.StandardOutput.ReadToEnd()}{run.StandardError.ReadToEnd()}");
            Assert.True(DateTime.UtcNow < deadline, "no mid-epoch checkpoint appeared");
            Thread.Sleep(5);
        }
    }

    /// <summary>The ranks mpirun <paramref name="mpirun"/> started, from /proc (their parent and OMPI_COMM_WORLD_RANK).</summary>
    private static IEnumerable<(int Pid, int Rank)> ChildRanks(int mpirun)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string stat, environ;
            try { (stat, environ) = (File.ReadAllText(Path.Combine(dir, "stat")), File.ReadAllText(Path.Combine(dir, "environ"))); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
            var rank = environ.Split('\0').FirstOrDefault(v => v.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal));
            if (parent == mpirun && rank is not null) yield return (pid, int.Parse(rank.Split('=')[1]));
        }
    }
}
