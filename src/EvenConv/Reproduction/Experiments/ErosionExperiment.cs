using System.Globalization;
using EvenConv.Analysis;
using EvenConv.IO;
using EvenConv.Layers;

namespace EvenConv.Reproduction.Experiments;

/// <summary>§1.3: the information-erosion curves Q_n of the deterministic reconstruction (Decision 6a), per kernel kind.</summary>
internal sealed class ErosionExperiment : IExperiment
{
    public string Id => "erosion";
    public string Title => "Information erosion Q_n (§1.3)";
    public TimeSpan Estimate(Budget budget) => TimeSpan.FromSeconds(10);

    public ExperimentResult Run(ExperimentContext context)
    {
        context.Report(0, "running the 54-layer reconstruction for every kind");
        var setup = new ErosionSetup();
        var curves = ErosionReconstruction.Run(ConvKind.PaperKinds, setup);
        AnalysisReports.WriteErosionCsv(context.PathOf("erosion.csv"), curves);
        AnalysisReports.WriteErosionJson(context.PathOf("erosion.json"), curves, setup);
        AnalysisFigures.SaveErosionCurves(context.PathOf("erosion.png"), curves, setup);
        AnalysisFigures.SaveFinalMaps(context.PathOf("erosion_final_maps.png"), curves, setup);

        var last = curves.ToDictionary(c => c.Kind.ToString(), c => c.Q[^1]);
        var measuredOrder = last.OrderByDescending(p => p.Value).Select(p => p.Key).ToList();
        var paperOrder = PaperResults.ErosionLayer54.OrderByDescending(p => p.Value).Select(p => p.Key).ToList();
        var table = new ResultTable("conv", "paper_q54", "q18", "q36", "q54");
        foreach (var c in curves)
            table.Add(c.Kind.ToString(), PaperResults.ErosionLayer54[c.Kind.ToString()], c.Q[18], c.Q[36], c.Q[^1]);
        table.WriteCsv(context.PathOf("erosion_layer54.csv"));
        return new ExperimentResult(
            "Zero padding erodes information (the mean L1 norm Q_n falls with depth) and asymmetry accelerates it: at layer 54 the order is C2sp > C3 > C4sp > C5 > C4 > C2.",
            $"Layer-54 order in EvenConv's reconstruction: {string.Join(" > ", measuredOrder)}" + (measuredOrder.SequenceEqual(paperOrder) ? " (the paper's order)." : $" (the paper's: {string.Join(" > ", paperOrder)})."),
            measuredOrder.SequenceEqual(paperOrder) ? Verdict.Reproduced : Verdict.Partly,
            table.ToMarkdown("G3") + string.Create(CultureInfo.InvariantCulture,
                $"\nThe reconstruction (Decision 6a): a constant 0.5 map of 32×32 through 54 linear mean-filter layers in three stages of 18, a 2×2 average pool before layers 19 and 37; C2sp/C4sp average their four group paddings. The paper's setup is unknown; the poster's values (read by eye, ±10 %) are in the paper_q54 column."),
            ["erosion.png", "erosion_final_maps.png"], ["erosion.csv", "erosion.json", "erosion_layer54.csv"]);
    }
}
