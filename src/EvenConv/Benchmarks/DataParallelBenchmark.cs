using System.Diagnostics;
using System.Text.Json;
using EvenConv.Distributed;
using EvenConv.IO;
using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Ops;
using EvenConv.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Benchmarks;

/// <summary>What <see cref="DataParallelBenchmark"/> measures in each rank.</summary>
public sealed record DataParallelBenchmarkOptions
{
    /// <summary>Registry model, CIFAR-shaped (3×32×32, 10 classes).</summary>
    public string Model { get; init; } = "resnet20";
    public ConvKind Conv { get; init; } = ConvKind.C2sp;
    /// <summary>Images per rank and step.</summary>
    public int Batch { get; init; } = 64;
    /// <summary>libtorch threads per rank.</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Gradient bucket sizes compared, interleaved (0: one allreduce per tensor).</summary>
    public IReadOnlyList<double> BucketMegabytes { get; init; } = [0, 0.1, 25];
    /// <summary>Timing rounds; each round runs <see cref="StepsPerSample"/> steps with each bucket size in turn.</summary>
    public int Rounds { get; init; } = 5;
    public int StepsPerSample { get; init; } = 3;
    public int WarmupSteps { get; init; } = 2;
    /// <summary>Also time steps without the gradient average (each rank trains alone): what the ranks' compute costs when
    /// they share the machine, so that the communication's own cost shows apart from the cores' contention.</summary>
    public bool Independent { get; init; } = true;
}

/// <summary>One bucket size on one job size: medians over rounds of rank 0's per-step times.</summary>
/// <param name="Ranks">Ranks of the job.</param>
/// <param name="ThreadsPerRank">libtorch threads of each rank.</param>
/// <param name="BucketMegabytes">Bucket size (0: every tensor alone); null for steps without the gradient average.</param>
/// <param name="Buckets">Allreduce calls per step.</param>
/// <param name="StepMs">Whole training step: forward, backward, gradient average, SGD update.</param>
/// <param name="AverageMs">The gradient average within it: packing, allreduce, and waiting for the slowest rank.</param>
/// <param name="ImagesPerSecond">Images of all ranks per second.</param>
public sealed record DataParallelRow(int Ranks, int ThreadsPerRank, double? BucketMegabytes, int Buckets, double StepMs, double AverageMs, double ImagesPerSecond);

/// <summary>
/// Data-parallel training-step cost: run in every rank of an MPI job (<c>mpirun -np R evenconv bench distributed
/// --worker …</c>, which <c>bench distributed</c> launches for each R), it trains the model on fixed random batches
/// and times whole steps, each bucket size in turn within every round so that load changes hit all alike. Every rank
/// runs exactly the same steps (the collectives must match), so nothing adapts to measured times.
/// </summary>
public static class DataParallelBenchmark
{
    /// <summary>Collective: every rank calls it; the rows hold rank 0's timings.</summary>
    public static IReadOnlyList<DataParallelRow> Run(ICommunicator communicator, DataParallelBenchmarkOptions options)
    {
        set_num_threads(options.Threads);
        manual_seed(1);
        using var model = ModelRegistry.Create(options.Model, ModelOptions.Cifar(options.Conv));
        model.train();
        communicator.BroadcastFromRoot(model);
        using var optimizer = new NesterovSgd(model, 0.9, true, 1e-4, []);
        using var x = TensorLayout.To(randn(options.Batch, 3, 32, 32), TensorLayout.Default);
        using var y = randint(0, 10, [options.Batch]);
        // The bucket sizes, then (null) steps that skip the average.
        var averagers = options.BucketMegabytes.Select(mb => new GradientBuckets(model, (long)(mb * 1024 * 1024)))
            .Concat(options.Independent ? [null] : Array.Empty<GradientBuckets?>()).ToArray();
        void Step(GradientBuckets? averager)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            F.cross_entropy(model.call(x), y).backward();
            averager?.Average(communicator, 1.0 / communicator.Size);
            optimizer.Step(0.01);
        }
        foreach (var averager in averagers)
            for (var i = 0; i < options.WarmupSteps; i++) Step(averager);
        var steps = averagers.Select(_ => new List<double>()).ToArray();
        var averages = averagers.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < options.Rounds; round++)
            for (var i = 0; i < averagers.Length; i++)
            {
                communicator.Barrier();
                var before = averagers[i]?.Elapsed ?? TimeSpan.Zero;
                var clock = Stopwatch.StartNew();
                for (var s = 0; s < options.StepsPerSample; s++) Step(averagers[i]);
                steps[i].Add(clock.Elapsed.TotalMilliseconds / options.StepsPerSample);
                averages[i].Add(((averagers[i]?.Elapsed ?? TimeSpan.Zero) - before).TotalMilliseconds / options.StepsPerSample);
            }
        return averagers.Select((averager, i) =>
        {
            var stepMs = InterleavedTimer.Median(steps[i]);
            return new DataParallelRow(communicator.Size, options.Threads, averager is null ? null : options.BucketMegabytes[i], averager?.Buckets ?? 0,
                stepMs, InterleavedTimer.Median(averages[i]), communicator.Size * options.Batch * 1000 / stepMs);
        }).ToArray();
    }

    /// <summary>Scaling efficiency of a row: its images per second over ranks × those of one rank with the same bucket
    /// size (1 = perfect scaling); null where the one-rank row is missing.</summary>
    public static double? Efficiency(DataParallelRow row, IReadOnlyList<DataParallelRow> rows) =>
        rows.FirstOrDefault(r => r.Ranks == 1 && r.BucketMegabytes == row.BucketMegabytes && r.ThreadsPerRank == row.ThreadsPerRank) is { } one
            ? row.ImagesPerSecond / (row.Ranks * one.ImagesPerSecond)
            : null;

    /// <summary>What the gradient average costs a row on top of the same ranks' steps without it (1 = nothing): the
    /// communication alone, with the contention of ranks sharing cores taken out; null without that row.</summary>
    public static double? CommunicationCost(DataParallelRow row, IReadOnlyList<DataParallelRow> rows) =>
        row.BucketMegabytes is not null && rows.FirstOrDefault(r => r.Ranks == row.Ranks && r.BucketMegabytes is null && r.ThreadsPerRank == row.ThreadsPerRank) is { } alone
            ? row.StepMs / alone.StepMs
            : null;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void WriteJson(string path, IReadOnlyList<DataParallelRow> rows) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(new { rows }, Json));

    public static IReadOnlyList<DataParallelRow> ReadJson(string path) =>
        JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("rows").Deserialize<DataParallelRow[]>(Json)
        ?? throw new InvalidDataException($"{path}: no rows.");
}
