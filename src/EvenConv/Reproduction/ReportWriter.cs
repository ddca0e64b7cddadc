using System.Globalization;
using System.Text;
using EvenConv.IO;

namespace EvenConv.Reproduction;

/// <summary>Writes <c>report.md</c>: a summary table (claim, measurement, verdict per experiment), then one section per
/// experiment with its details and figures.</summary>
internal static class ReportWriter
{
    public static void Write(string outputDirectory, Budget budget, IReadOnlyList<IExperiment> planned, IReadOnlyList<CompletedExperiment> done)
    {
        var md = new StringBuilder();
        md.AppendLine("# EvenConv reproduction of *Convolution with even-sized kernels and symmetric padding* (Wu et al., NeurIPS 2019)").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Budget: **{budget.ToString().ToLowerInvariant()}**. Machine: {Environment.ProcessorCount} CPU cores, {EvenConv.Runtime.AllocatorDescription()}, TorchSharp on libtorch (CPU).");
        if (budget != Budget.Full)
            md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"This is a **{budget.ToString().ToLowerInvariant()}** run: training experiments use short budgets (a few epochs or iterations on small subsets), so their errors and distances show the direction of an effect, not the paper's final numbers. Counting, shift and erosion experiments are exact at any budget. Run `./evenconv reproduce` (full) for longer budgets.");
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Completed {done.Count} of {planned.Count} experiments; total time {done.Sum(d => d.Seconds) / 60:F1} min.").AppendLine();
        md.AppendLine("| experiment | the paper's claim | EvenConv's measurement | verdict |").AppendLine("|---|---|---|---|");
        foreach (var d in done)
            md.AppendLine(CultureInfo.InvariantCulture, $"| [{d.Title}](#{Anchor(d.Title)}) | {Cell(d.Result.Claim)} | {Cell(d.Result.Measurement)} | {VerdictText(d.Result.Verdict)} |");
        foreach (var p in planned.Where(p => done.All(d => d.Id != p.Id)))
            md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Title} | | not run yet | |");
        foreach (var d in done)
        {
            md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"## {d.Title}").AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"**Claim.** {d.Result.Claim}").AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"**Measured.** {d.Result.Measurement} — *{VerdictText(d.Result.Verdict)}* ({d.Seconds:F0} s).").AppendLine();
            md.AppendLine(d.Result.Details.TrimEnd()).AppendLine();
            foreach (var figure in d.Result.Figures)
                md.AppendLine(CultureInfo.InvariantCulture, $"![{figure}]({d.Id}/{figure})").AppendLine();
            if (d.Result.DataFiles.Count > 0)
                md.AppendLine("Data: " + string.Join(", ", d.Result.DataFiles.Select(f => $"[{f}]({d.Id}/{f})"))).AppendLine();
        }
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "report.md"), md.ToString());
    }

    private static string VerdictText(Verdict v) => v switch
    {
        Verdict.Reproduced => "reproduced",
        Verdict.Partly => "partly reproduced",
        Verdict.NotReproduced => "not reproduced",
        _ => "inconclusive at this budget",
    };

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');

    private static string Anchor(string title) =>
        new string(title.ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-').ToArray()).Replace(' ', '-');
}
