using System.Globalization;
using EvenConv.IO;
using EvenConv.Layers;
using EvenConv.Plotting;

namespace EvenConv.Training.Sweeps;

/// <summary>One row of a sweep's table: a model × kernel kind over its finished seeds. Errors in percent.</summary>
public sealed record SweepRow(string Model, string Conv, int Runs, double MeanError, double StdError, long Parameters, long Macs,
    double MeanTrainMinutes, double MeanImagesPerSecond, double PeakMemoryMiB);

/// <summary>
/// The results of a sweep: results.md / .csv / .json (mean ± sample std of the final test error over seeds,
/// parameters, MACs, training time, throughput, peak memory), error-vs-params.png like the poster's kernel-size
/// panels, and training curves: curves-MODEL.png (mean test error per epoch, one line per kind) and curve.png in every
/// cell directory (training and test error per epoch).
/// </summary>
public sealed record SweepReport(IReadOnlyList<SweepRow> Rows)
{
    public static string CellDirectory(string sweepDirectory, SweepCell cell) => Path.Combine(sweepDirectory, "cells", cell.Id);

    /// <summary>Collects the finished cells of <paramref name="spec"/> in <paramref name="directory"/> and writes the report
    /// files; with <paramref name="cellCurves"/> also (re)draws every cell's curve.png (the runner draws each cell's when it finishes).</summary>
    public static SweepReport Write(SweepSpec spec, string directory, bool cellCurves = true)
    {
        var rows = new List<SweepRow>();
        var cells = spec.Cells();
        foreach (var model in spec.Models)
            foreach (var conv in spec.Convs)
            {
                var results = cells.Where(c => c.Model == model && c.Conv == conv)
                    .Select(c => Trainer.ReadResult(CellDirectory(directory, c))).OfType<TrainingResult>().ToArray();
                if (results.Length == 0) continue;
                var errors = results.Select(r => 100 * r.FinalTestError).ToArray();
                rows.Add(new SweepRow(model, conv, results.Length, errors.Average(), SampleStd(errors), results[0].Parameters, results[0].Macs,
                    results.Average(r => r.TrainSeconds) / 60, results.Average(r => r.ImagesPerSecond), results.Max(r => r.PeakMemoryBytes) / 1048576.0));
            }
        var report = new SweepReport(rows);
        report.WriteTables(directory);
        report.WritePlots(spec, directory);
        if (cellCurves) foreach (var cell in cells) WriteCellCurve(CellDirectory(directory, cell), cell);
        return report;
    }

    private void WriteTables(string directory)
    {
        var table = new ResultTable("model", "conv", "runs", "test_error_mean_pct", "test_error_std_pct", "params", "macs",
            "train_minutes", "images_per_second", "peak_memory_mib");
        foreach (var r in Rows)
            table.Add(r.Model, r.Conv, r.Runs, Math.Round(r.MeanError, 3), Math.Round(r.StdError, 3), r.Parameters, r.Macs,
                Math.Round(r.MeanTrainMinutes, 2), Math.Round(r.MeanImagesPerSecond, 1), Math.Round(r.PeakMemoryMiB, 0));
        table.WriteCsv(Path.Combine(directory, "results.csv"));
        table.WriteJson(Path.Combine(directory, "results.json"));
        var md = new System.Text.StringBuilder("| model | conv | runs | test error (%) | params | MMACs | train (min) | img/s | peak MiB |\n|---|---|---|---|---|---|---|---|---|\n");
        foreach (var r in Rows)
            md.Append(CultureInfo.InvariantCulture, $"| {r.Model} | {r.Conv} | {r.Runs} | {r.MeanError:F2} ± {r.StdError:F2} | {r.Parameters:N0} | {r.Macs / 1e6:F1} | {r.MeanTrainMinutes:F1} | {r.MeanImagesPerSecond:F0} | {r.PeakMemoryMiB:F0} |\n");
        AtomicFile.WriteAllText(Path.Combine(directory, "results.md"), md.ToString());
    }

    private void WritePlots(SweepSpec spec, string directory)
    {
        if (Rows.Count == 0) return;
        var data = spec.Base.Data;
        var series = spec.Convs.Select(conv => Rows.Where(r => r.Conv == conv).OrderBy(r => r.Parameters).ToArray()).Where(rs => rs.Length > 0)
            .Select(rs => Series.ForKind(ConvKind.Parse(rs[0].Conv), rs.Select(r => r.Parameters / 1e6).ToArray(), rs.Select(r => r.MeanError).ToArray())
                with { YError = rs.Select(r => r.StdError).ToArray() })
            .ToArray();
        Charts.SaveLines(Path.Combine(directory, "error-vs-params.png"),
            new ChartOptions($"Test error vs parameters ({data}, {spec.Base.Epochs} epochs, mean ± std over seeds)", "parameters (M)", "test error (%)"), series);

        foreach (var model in spec.Models)
        {
            var curves = new List<Series>();
            foreach (var conv in spec.Convs)
            {
                var histories = spec.Cells().Where(c => c.Model == model && c.Conv == conv)
                    .Select(c => EpochMetrics.ReadAll(CellDirectory(directory, c))).Where(h => h.Count > 0).ToArray();
                if (histories.Length == 0) continue;
                var epochs = histories.Min(h => h.Count);
                var mean = Enumerable.Range(0, epochs).Select(e => histories.Average(h => 100 * h[e].TestError)).ToArray();
                curves.Add(Series.ForKind(ConvKind.Parse(conv), Enumerable.Range(1, epochs).Select(e => (double)e).ToArray(), mean));
            }
            if (curves.Count > 0)
                Charts.SaveLines(Path.Combine(directory, $"curves-{model}.png"),
                    new ChartOptions($"{model} on {data}: test error per epoch (mean over seeds)", "epoch", "test error (%)"), curves);
        }
    }

    /// <summary>Draws curve.png (training and test error per epoch) in a cell's directory.</summary>
    public static void WriteCellCurve(string cellDirectory, SweepCell cell)
    {
        var history = EpochMetrics.ReadAll(cellDirectory);
        if (history.Count == 0) return;
        var epochs = history.Select(m => (double)m.Epoch).ToArray();
        Charts.SaveLines(Path.Combine(cellDirectory, "curve.png"),
            new ChartOptions($"{cell.Id}: error per epoch", "epoch", "error (%)"),
            [new Series("test", epochs, history.Select(m => 100 * m.TestError).ToArray()),
             new Series("training (augmented)", epochs, history.Select(m => 100 * (1 - m.TrainAccuracy)).ToArray()) { Dashed = true }]);
    }

    private static double SampleStd(double[] values)
    {
        if (values.Length < 2) return 0;
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }
}
