using System.CommandLine;
using System.Globalization;
using EvenConv.Benchmarks;
using EvenConv.Ops;
using Spectre.Console;
using TorchSharp;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv bench …`: speed and memory measurements. Each subcommand is one Create… method below.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure speed and memory (one process, interleaved, medians).");
        command.Subcommands.Add(CreateConv());
        command.Subcommands.Add(BenchTrainCommand.Create());
        command.Subcommands.Add(BenchDistributedCommand.Create());
        return command;
    }

    private static Command CreateConv()
    {
        var quick = new Option<bool>("--quick") { Description = "Two shapes and 7 rounds instead of all five shapes and 15 rounds." };
        var rounds = new Option<int?>("--rounds") { Description = "Interleaved timing rounds per shape (median over them)." };
        var layout = new Option<string>("--layout")
        {
            Description = "Memory layout of activations and weights: channels-last (the library default) or nchw.",
            DefaultValueFactory = _ => TensorLayout.Default == MemoryLayout.ChannelsLast ? "channels-last" : "nchw",
        };
        var kinds = new Option<string?>("--kinds") { Description = $"Comma-separated variants (default all: {string.Join(",", ConvVariant.Names)}); c3 always runs." };
        var shapes = new Option<string?>("--shapes") { Description = "Comma-separated BATCHxCHANNELSxSIZE shapes, e.g. 128x16x32,32x256x14 (default: the five standard shapes)." };
        var threads = new Option<int?>("--threads") { Description = "libtorch intra-op threads (default: one per core)." };
        var json = new Option<string?>("--json") { Description = "Also write the rows as JSON to this file." };
        var command = new Command("conv", "Time C3, C2, C2sp (fused), naive C2sp, C4, C4sp, C5 and a depthwise-separable block: forward, forward+backward, memory kept for backward.")
        {
            quick, rounds, layout, kinds, shapes, threads, json,
        };
        command.SetAction((parse, cancel) =>
        {
            var options = parse.GetValue(quick) ? ConvBenchmarkOptions.Quick : new ConvBenchmarkOptions();
            options = options with { Layout = ParseLayout(parse.GetValue(layout)!), Threads = parse.GetValue(threads) };
            if (parse.GetValue(rounds) is { } r)
                options = options with { Rounds = r >= 1 ? r : throw new ArgumentException($"--rounds must be at least 1, got {r}.") };
            if (parse.GetValue(shapes) is { } sh)
                options = options with { Shapes = sh.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseShape).ToList() };
            if (parse.GetValue(kinds) is { } k)
                options = options with { Kinds = k.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList() };
            AnsiConsole.MarkupLine($"[grey]threads {options.Threads ?? torch.get_num_threads()}, layout {options.Layout}, allocator {Markup.Escape(Runtime.AllocatorDescription())}, C2sp kernels {Markup.Escape(Runtime.C2spKernelsDescription())}, {options.Rounds} rounds[/]");
            var result = ConvBenchmark.Run(options, line => Console.Error.WriteLine(line), cancel);
            Print(result);
            if (parse.GetValue(json) is { } path)
            {
                result.WriteJson(path);
                AnsiConsole.MarkupLineInterpolated($"wrote [green]{path}[/]");
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static ConvBenchmarkShape ParseShape(string text)
    {
        var parts = text.Split('x');
        if (parts.Length == 3 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0))
            return new ConvBenchmarkShape(int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
        throw new ArgumentException($"--shapes: '{text}' is not BATCHxCHANNELSxSIZE (for example 128x16x32).");
    }

    private static MemoryLayout ParseLayout(string text) => text.Trim().ToLowerInvariant() switch
    {
        "channels-last" or "channels_last" or "nhwc" => MemoryLayout.ChannelsLast,
        "nchw" => MemoryLayout.Nchw,
        _ => throw new ArgumentException($"--layout '{text}' is not a layout. Use channels-last or nchw."),
    };

    private static void Print(ConvBenchmarkResult result)
    {
        foreach (var shape in result.Rows.Select(r => r.Shape).Distinct())
        {
            var rows = result.Rows.Where(r => r.Shape == shape).ToList();
            var c3 = rows.First(r => r.Kind == "c3");
            var table = new Table().Title($"{shape} ({result.Layout})")
                .AddColumns("kind", "fwd ms", "fwd ×c3", "fwd+bwd ms (fastest)", "fwd+bwd ×c3", "GFLOP/s", "saved MiB");
            foreach (var col in table.Columns.Skip(1)) col.RightAligned();
            foreach (var r in rows)
                table.AddRow(r.Kind, F(r.FwdMs), F(r.FwdMs / c3.FwdMs), $"{F(r.FwdBwdMs)} ({F(r.FwdBwdMsMin)})", F(r.FwdBwdMs / c3.FwdBwdMs), r.Gflops.ToString("F0", CultureInfo.InvariantCulture),
                    r.SavedBytes is { } b ? (b / 1048576.0).ToString("F2", CultureInfo.InvariantCulture) : "n/a");
            AnsiConsole.Write(table);
        }
        if (result.Peak is { } peak)
            AnsiConsole.MarkupLineInterpolated($"practical peak (3×3 conv, {peak.Shape}): {peak.FwdGflops:F0} GFLOP/s forward, {peak.FwdBwdGflops:F0} GFLOP/s forward+backward");
        PrintTargets(result);
    }

    /// <summary>The issue's targets for C2sp at the CIFAR shapes, checked against this run: ratios of the medians, and
    /// in brackets of the fastest samples (the better estimate when other processes load the machine).</summary>
    private static void PrintTargets(ConvBenchmarkResult result)
    {
        var table = new Table().Title("C2sp targets (CIFAR shapes): median (fastest)")
            .AddColumns("shape", "fwd+bwd ×c3 (≤ 0.60)", "fwd+bwd ×c2 (≤ 1.10)", "saved − c3 saved (≤ 0)");
        foreach (var shape in result.Rows.Select(r => r.Shape).Distinct().Where(s => s.IsCifar))
        {
            if (result.Find(shape, "c2sp") is not { } sp || result.Find(shape, "c3") is not { } c3) continue;
            var c2 = result.Find(shape, "c2");
            table.AddRow(shape.ToString(),
                Check(sp.FwdBwdMs / c3.FwdBwdMs, sp.FwdBwdMsMin / c3.FwdBwdMsMin, 0.60),
                c2 is null ? "n/a" : Check(sp.FwdBwdMs / c2.FwdBwdMs, sp.FwdBwdMsMin / c2.FwdBwdMsMin, 1.10),
                sp.SavedBytes is { } a && c3.SavedBytes is { } b ? Check((a - b) / 1048576.0, null, 0, " MiB") : "n/a");
        }
        if (table.Rows.Count > 0) AnsiConsole.Write(table);
    }

    private static string Check(double value, double? fastest, double limit, string unit = "") =>
        Colour(value, limit, unit) + (fastest is { } f ? $" ({Colour(f, limit, unit)})" : "");

    private static string Colour(double value, double limit, string unit) =>
        $"{(value <= limit ? "[green]" : "[red]")}{value.ToString("F2", CultureInfo.InvariantCulture)}{unit}[/]";

    private static string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
}
