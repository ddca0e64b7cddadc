using System.CommandLine;
using System.Globalization;
using EvenConv.Reproduction;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv reproduce`: every experiment of the paper that fits the machine, resumably, into a report folder.</summary>
internal static class ReproduceCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Short budgets (6–10 minutes on 2 cores); the report says so. Same as --budget quick." };
        var budgetOption = new Option<Budget>("--budget") { Description = "tiny (seconds per experiment, a smoke check), quick or full.", DefaultValueFactory = _ => Budget.Full };
        var output = new Option<string>("--out") { Description = "Report folder (resumes the experiments already finished there).", DefaultValueFactory = _ => "report" };
        var data = new Option<string>("--data") { Description = "Data set for the training experiments: a name (fashion-mnist, cifar10, ...) or a path.", DefaultValueFactory = _ => "fashion-mnist" };
        var only = new Option<string?>("--only") { Description = "Comma-separated experiment ids to run (default: all). Ids: " + string.Join(", ", PaperExperiments.All().Select(e => e.Id)) };
        var command = new Command("reproduce", "Run the paper's experiments that fit this machine and write report.md with figures and data.") { quick, budgetOption, output, data, only };
        command.SetAction((parse, cancel) =>
        {
            var budget = parse.GetValue(quick) ? Budget.Quick : parse.GetValue(budgetOption);
            var experiments = PaperExperiments.Select(parse.GetValue(only));
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            var estimate = TimeSpan.FromSeconds(experiments.Sum(e => e.Estimate(budget).TotalSeconds));
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Reproducing {experiments.Count} experiments ({budget.ToString().ToLowerInvariant()} budget), expected about [bold]{estimate.TotalMinutes:F0} min[/] on this machine; report in {outDir}");
            var runner = new ReproductionRunner(outDir, budget, parse.GetValue(data)!);
            var results = ProgressDisplay.Run<ReproductionProgress, IReadOnlyList<CompletedExperiment>>(
                p => $"[{p.Index}/{p.Count}] {p.ExperimentTitle}: {p.Experiment.Message}",
                p => ((p.Index - 1) + p.Experiment.Fraction) / p.Count,
                progress => runner.Run(experiments, progress, cancel));
            var table = new Table().AddColumns("experiment", "verdict", "measurement");
            foreach (var r in results) table.AddRow(Markup.Escape(r.Title), r.Result.Verdict.ToString(), Markup.Escape(r.Result.Measurement));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Report: {Path.Combine(outDir, "report.md")}");
            return Task.FromResult(0);
        });
        return command;
    }
}
