using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using EvenConv.Benchmarks;
using EvenConv.Distributed;
using EvenConv.Layers;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv bench distributed`: data-parallel scaling (1, 2, … ranks) and what the gradient bucket size does.
/// It runs `mpirun -np R` of itself with --worker for each R and puts their rows side by side.</summary>
internal static class BenchDistributedCommand
{
    public static Command Create()
    {
        var ranks = new Option<string>("--ranks") { Description = "Job sizes to compare (comma-separated).", DefaultValueFactory = _ => "1,2" };
        var buckets = new Option<string>("--buckets") { Description = "Gradient bucket sizes in MB (comma-separated; 0 = one allreduce per tensor).", DefaultValueFactory = _ => "0,0.1,25" };
        var model = new Option<string>("--model") { Description = "CIFAR model.", DefaultValueFactory = _ => "resnet20" };
        var conv = new Option<string>("--conv") { Description = "Kernel kind.", DefaultValueFactory = _ => "c2sp" };
        var batch = new Option<int>("--batch") { Description = "Images per rank and step.", DefaultValueFactory = _ => 64 };
        var threads = new Option<int>("--threads") { Description = "libtorch threads per rank.", DefaultValueFactory = _ => 1 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved timing rounds (median over them).", DefaultValueFactory = _ => 5 };
        var json = new Option<string?>("--json") { Description = "Also write the rows as JSON to this file." };
        var worker = new Option<string?>("--worker") { Description = "Internal: run as a rank of the job and write rank 0's rows to this file.", Hidden = true };
        var command = new Command("distributed", "Data-parallel training-step time on 1, 2, … MPI ranks (scaling efficiency) and per gradient bucket size.")
        {
            ranks, buckets, model, conv, batch, threads, rounds, json, worker,
        };
        command.SetAction((parse, cancel) =>
        {
            var options = new DataParallelBenchmarkOptions
            {
                Model = parse.GetValue(model)!, Conv = ConvKind.Parse(parse.GetValue(conv)!),
                Batch = Positive(parse.GetValue(batch), "--batch"), Threads = Positive(parse.GetValue(threads), "--threads"),
                Rounds = Positive(parse.GetValue(rounds), "--rounds"),
                BucketMegabytes = parse.GetValue(buckets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v : throw new ArgumentException($"--buckets: '{s}' is not a size in MB ≥ 0.")).ToArray(),
            };
            if (parse.GetValue(worker) is { } output)
            {
                using var job = Job.Start(DistributedMode.Mpi);
                var rows = DistributedJob.Run(job, () => DataParallelBenchmark.Run(job, options));
                if (job.Rank == 0) DataParallelBenchmark.WriteJson(output, rows);
                return Task.FromResult(0);
            }
            var all = new List<DataParallelRow>();
            foreach (var r in parse.GetValue(ranks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                         .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"--ranks: '{s}' is not a positive whole number.")))
            {
                cancel.ThrowIfCancellationRequested();
                Console.Error.WriteLine($"bench distributed: {r} rank(s), {options.Threads} thread(s) each, {options.Model} {options.Conv}, batch {options.Batch} per rank...");
                all.AddRange(RunJob(r, options, parse.GetValue(buckets)!));
            }
            Print(all);
            if (parse.GetValue(json) is { } path) DataParallelBenchmark.WriteJson(path, all);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Runs this program as an MPI job of <paramref name="ranks"/> ranks in worker mode and reads its rows.</summary>
    private static IReadOnlyList<DataParallelRow> RunJob(int ranks, DataParallelBenchmarkOptions options, string buckets)
    {
        var mpirun = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists)
            ?? throw new EvenConvException("bench distributed needs mpirun on PATH (Debian: sudo apt-get install openmpi-bin).");
        var output = Path.Combine(Path.GetTempPath(), $"evenconv-bench-distributed-{Environment.ProcessId}-{ranks}.json");
        var info = new ProcessStartInfo(mpirun) { UseShellExecute = false };
        // One core per rank (Open MPI's default binding for small jobs); --oversubscribe only where ranks outnumber cores.
        info.ArgumentList.Add("--bind-to");
        info.ArgumentList.Add(ranks * options.Threads <= Environment.ProcessorCount ? "core" : "none");
        if (ranks > Environment.ProcessorCount) info.ArgumentList.Add("--oversubscribe");
        if (Environment.UserName == "root") info.ArgumentList.Add("--allow-run-as-root");
        info.ArgumentList.Add("-np");
        info.ArgumentList.Add(ranks.ToString(CultureInfo.InvariantCulture));
        var self = Environment.ProcessPath!;
        info.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var arg in new[]
                 {
                     "bench", "distributed", "--worker", output, "--model", options.Model, "--conv", options.Conv.ToString().ToLowerInvariant(),
                     "--batch", $"{options.Batch}", "--threads", $"{options.Threads}", "--rounds", $"{options.Rounds}", "--buckets", buckets,
                 })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        process.WaitForExit();
        try
        {
            if (process.ExitCode != 0 || !File.Exists(output))
                throw new EvenConvException($"bench distributed: the {ranks}-rank job failed (exit {process.ExitCode}); its output is above.");
            return DataParallelBenchmark.ReadJson(output);
        }
        finally { File.Delete(output); }
    }

    private static void Print(IReadOnlyList<DataParallelRow> rows)
    {
        // threads: per rank; bucket "alone": steps without the gradient average (ranks only share the machine); calls:
        // allreduces per step; avg ms: the gradient average (packing, allreduce and waiting for the slowest rank); eff.:
        // img/s ÷ (ranks × one rank's img/s at that bucket size); ×alone: step time ÷ that of the ranks training alone.
        var table = new Table().Title("data-parallel training step (rank 0's medians)")
            .AddColumns("ranks", "threads", "bucket MB", "calls", "step ms", "avg ms", "img/s", "eff.", "×alone");
        foreach (var col in table.Columns) col.RightAligned();
        foreach (var r in rows)
            table.AddRow($"{r.Ranks}", $"{r.ThreadsPerRank}", r.BucketMegabytes is { } mb ? F(mb, "G") : "alone", $"{r.Buckets}", F(r.StepMs, "F1"), F(r.AverageMs, "F2"),
                F(r.ImagesPerSecond, "F0"), DataParallelBenchmark.Efficiency(r, rows) is { } e ? F(e, "F2") : "",
                DataParallelBenchmark.CommunicationCost(r, rows) is { } c ? F(c, "F2") : "");
        AnsiConsole.Write(table);
    }

    private static int Positive(int value, string option) => value >= 1 ? value : throw new ArgumentException($"{option} must be at least 1, got {value}.");

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
