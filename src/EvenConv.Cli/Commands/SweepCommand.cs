using System.CommandLine;
using EvenConv.Training;
using EvenConv.Training.Sweeps;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv sweep`: train a grid of models × kernel kinds × seeds (resumable) and write the results table and plots.</summary>
internal static class SweepCommand
{
    public static Command Create()
    {
        var options = new TrainingOptions(includeModel: false);
        var model = new Option<string>("--model") { Description = "resnet-cifar (with --depths), or a comma list of model names.", DefaultValueFactory = _ => "resnet-cifar" };
        var depths = new Option<string?>("--depths") { Description = "ResNet-CIFAR blocks per stage n (depth 6n+2), e.g. 3,6,9." };
        var convs = new Option<string>("--convs") { Description = "Kernel kinds, e.g. c2,c2sp,c3,c4,c4sp,c5.", DefaultValueFactory = _ => "c2,c2sp,c3" };
        var seeds = new Option<int>("--seeds") { Description = "Runs per cell (seeds --seed, --seed+1, …).", DefaultValueFactory = _ => 2 };
        var seed = new Option<ulong>("--seed") { Description = "First seed.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Sweep directory (cells/, results.md/csv/json, PNGs). Rerun to continue it.", Required = true };
        var command = new Command("sweep", "Train models × kernel kinds × seeds; finished cells are kept, so rerunning continues the sweep.")
            { model, depths, convs, seeds, seed, output };
        options.AddTo(command);
        command.SetAction((parse, cancellation) =>
        {
            var depthList = parse.GetValue(depths) is { } d ? TrainingOptions.ParseInts(d, "--depths") : null;
            var spec = new SweepSpec(
                SweepSpec.ExpandModels(parse.GetValue(model)!, depthList),
                parse.GetValue(convs)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                parse.GetValue(seeds),
                options.Resolve(parse) with { Seed = parse.GetValue(seed) }).Validate();
            var outDir = parse.GetValue(output)!;
            var cells = spec.Cells();
            AnsiConsole.MarkupLineInterpolated($"[bold]sweep[/] {cells.Count} cells: {string.Join(", ", spec.Models)} × {string.Join(", ", spec.Convs)} × {spec.Seeds} seeds on {spec.Base.Data}, {spec.Base.Epochs} epochs each → {Path.GetFullPath(outDir)}");
            var report = TrainingConsole.Run("sweep", progress => new SweepRunner(spec, outDir, ClassifierModels.Create)
            {
                Progress = (_, p) => progress(p),
                Message = line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"),
            }.Run(cancellation));
            var table = new Table().AddColumns("model", "conv", "runs", "test error (%)", "params", "MMACs", "train (min)", "img/s", "peak MiB");
            foreach (var r in report.Rows)
                table.AddRow(r.Model, r.Conv, r.Runs.ToString(), $"{r.MeanError:F2} ± {r.StdError:F2}", r.Parameters.ToString("N0"), (r.Macs / 1e6).ToString("F1"),
                    r.MeanTrainMinutes.ToString("F1"), r.MeanImagesPerSecond.ToString("F0"), r.PeakMemoryMiB.ToString("F0"));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"results.md/csv/json, error-vs-params.png and curves-*.png in {Path.GetFullPath(outDir)}");
            return Task.FromResult(0);
        });
        return command;
    }
}
