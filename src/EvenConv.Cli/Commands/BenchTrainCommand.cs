using System.CommandLine;
using System.Globalization;
using EvenConv.Benchmarks;
using Spectre.Console;
using TorchSharp;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv bench train`: training-step time and peak memory of C2sp against C3 and the compact blocks (§3.5).</summary>
internal static class BenchTrainCommand
{
    public static Command Create()
    {
        var layers = new Option<string>("--layers") { Description = "Network depths (comma-separated; 20, 56, 110).", DefaultValueFactory = _ => "20,56,110" };
        var blocks = new Option<string>("--blocks") { Description = $"Blocks to compare (comma-separated: {string.Join(", ", TrainStepBenchmark.Blocks)}; {TrainStepBenchmark.SeparateOpsC2sp} adds C2sp with batch norm, activation and convolution as separate ops).", DefaultValueFactory = _ => string.Join(",", TrainStepBenchmark.Blocks) };
        var batch = new Option<int?>("--batch") { Description = "Images per training step (default 128)." };
        var rounds = new Option<int?>("--rounds") { Description = "Interleaved timing rounds per depth (default 7)." };
        var json = new Option<string?>("--json") { Description = "Write {\"rows\":[…]} to this file." };
        var output = new Option<string?>("--out") { Description = "Also write CSV, JSON and the two bar charts (PNG) into this folder." };
        var command = new Command("train", "Time a training step and measure its peak memory for C3, C2sp, depthwise-separable, inverted-bottleneck and shift networks.")
        {
            layers, blocks, batch, rounds, json, output,
        };
        command.SetAction((parse, cancel) =>
        {
            var options = new TrainStepBenchmarkOptions
            {
                Layers = ParseInts(parse.GetValue(layers)!, "--layers"),
                Blocks = parse.GetValue(blocks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            if (parse.GetValue(batch) is { } b) options = options with { Batch = b >= 1 ? b : throw new ArgumentException($"--batch must be at least 1, got {b}.") };
            if (parse.GetValue(rounds) is { } r) options = options with { Rounds = r >= 1 ? r : throw new ArgumentException($"--rounds must be at least 1, got {r}.") };
            AnsiConsole.MarkupLineInterpolated($"[grey]threads {torch.get_num_threads()}, allocator {Runtime.AllocatorDescription()}, C2sp kernels {Runtime.C2spKernelsDescription()}, {options.Rounds} rounds[/]");
            var rows = TrainStepBenchmark.Run(options, line => Console.Error.WriteLine(line), cancel);
            var table = TrainStepReport.ToTable(rows);
            var view = new Table().AddColumns("layers", "block", "step ms", "img/s", "peak MiB", "estimate MiB", "params", "MMACs", "time ÷ c2sp", "memory ÷ c2sp");
            foreach (var row in rows)
            {
                var c2sp = rows.FirstOrDefault(x => x.Layers == row.Layers && x.Block == "c2sp");
                view.AddRow(row.Layers.ToString(CultureInfo.InvariantCulture), row.Block, F(row.StepMs, "F1"), F(row.ImagesPerSecond, "F0"),
                    F(row.PeakBytes / 1048576.0, "F0"), F(row.ActivationBytes / 1048576.0, "F0"), row.Params.ToString("N0", CultureInfo.InvariantCulture),
                    F(row.Macs / 1e6, "F1"), c2sp is null ? "" : F(row.StepMs / c2sp.StepMs, "F2"), c2sp is null || c2sp.PeakBytes == 0 ? "" : F((double)row.PeakBytes / c2sp.PeakBytes, "F2"));
            }
            AnsiConsole.Write(view);
            if (parse.GetValue(json) is { } jsonPath) table.WriteJson(jsonPath);
            if (parse.GetValue(output) is { } dir)
            {
                Directory.CreateDirectory(dir);
                TrainStepReport.Write(dir, rows);
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static int[] ParseInts(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"{option}: '{s}' is not a positive whole number."))
            .ToArray();
}
