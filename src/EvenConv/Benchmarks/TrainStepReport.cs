using EvenConv.IO;
using EvenConv.Plotting;

namespace EvenConv.Benchmarks;

/// <summary>The files of the training-overhead comparison: a table with ratios to C2sp (CSV, JSON, Markdown) and the
/// poster's two bar charts (memory and time per depth and block).</summary>
public static class TrainStepReport
{
    /// <summary>The rows as a table, each with its ratios to the C2sp network of the same depth.</summary>
    public static ResultTable ToTable(IReadOnlyList<TrainStepRow> rows)
    {
        var table = new ResultTable("layers", "block", "model", "step_ms", "images_per_s", "peak_bytes", "activation_bytes", "params", "macs",
            "step_vs_c2sp", "peak_vs_c2sp");
        foreach (var r in rows)
        {
            var c2sp = rows.FirstOrDefault(x => x.Layers == r.Layers && x.Block == "c2sp");
            table.Add(r.Layers, r.Block, r.Model, Math.Round(r.StepMs, 2), Math.Round(r.ImagesPerSecond, 1), r.PeakBytes, r.ActivationBytes, r.Params, r.Macs,
                c2sp is null ? null : Math.Round(r.StepMs / c2sp.StepMs, 3), c2sp is null || c2sp.PeakBytes == 0 ? null : Math.Round((double)r.PeakBytes / c2sp.PeakBytes, 3));
        }
        return table;
    }

    /// <summary>Writes <c>&lt;stem&gt;.json</c> (<c>{"rows":[…]}</c>), <c>&lt;stem&gt;.csv</c>, <c>&lt;stem&gt;_memory.png</c> and
    /// <c>&lt;stem&gt;_time.png</c> into <paramref name="directory"/>; returns the file names.</summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<TrainStepRow> rows, string stem = "train_overheads")
    {
        var table = ToTable(rows);
        table.WriteJson(Path.Combine(directory, stem + ".json"));
        table.WriteCsv(Path.Combine(directory, stem + ".csv"));
        var depths = rows.Select(r => r.Layers).Distinct().ToList();
        var blocks = rows.Select(r => r.Block).Distinct().ToList();
        double Value(string block, int layers, Func<TrainStepRow, double> f) => rows.Where(r => r.Block == block && r.Layers == layers).Select(f).DefaultIfEmpty(double.NaN).First();
        List<BarSeries> Bars(Func<TrainStepRow, double> f) => blocks.Select(b => new BarSeries(b, depths.Select(d => Value(b, d, f)).ToList())).ToList();
        var categories = depths.Select(d => $"{d} layers").ToList();
        // Cost grows with depth, so the tallest bars are on the right: the legend goes over the shortest, on the left.
        Charts.SaveGroupedBars(Path.Combine(directory, stem + "_memory.png"),
            new ChartOptions("Training-step peak memory", "network depth", "peak memory (MiB)") { Legend = LegendCorner.UpperLeft },
            categories, Bars(r => r.PeakBytes / 1048576.0));
        Charts.SaveGroupedBars(Path.Combine(directory, stem + "_time.png"),
            new ChartOptions("Training-step time", "network depth", "time per step (ms)") { Legend = LegendCorner.UpperLeft },
            categories, Bars(r => r.StepMs));
        return [stem + ".json", stem + ".csv", stem + "_memory.png", stem + "_time.png"];
    }
}
