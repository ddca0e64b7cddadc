using System.Globalization;
using EvenConv.Layers;
using EvenConv.Plotting;

namespace EvenConv.Analysis;

/// <summary>The figures of the shift and erosion analyses, drawn with <see cref="Charts"/> and <see cref="Grids"/>.</summary>
public static class AnalysisFigures
{
    /// <summary>The poster's Q_n plot for the reconstruction: log y, layer index x, dashed lines at the stage
    /// boundaries, one colour per kind.</summary>
    public static void SaveErosionCurves(string path, IReadOnlyList<ErosionCurve> curves, ErosionSetup setup) =>
        Charts.SaveLines(path,
            new ChartOptions("Information erosion of zero padding (mean filters, constant 0.5 input)", "Layer index n", "Mean L1 norm Q_n = mean |F_n|")
            {
                LogY = true,
                Markers = Boundaries(setup.StageBoundaries, setup.Size),
                Legend = LegendCorner.LowerLeft,
                XMin = -1,
                XMax = setup.Layers + 1,
            },
            curves.Select(c => Series.ForKind(c.Kind, Indices(c.Q.Count), c.Q) with { Markers = false }).ToList());

    /// <summary>The final maps per kind as heat maps on one shared colour scale, laid out like the poster's inset
    /// ([C5, C4, C4sp; C3, C2, C2sp]) when those six kinds are given, else in the given order.</summary>
    public static void SaveFinalMaps(string path, IReadOnlyList<ErosionCurve> curves, ErosionSetup setup)
    {
        ConvKind[] poster = [ConvKind.C5, ConvKind.C4, ConvKind.C4sp, ConvKind.C3, ConvKind.C2, ConvKind.C2sp];
        var ordered = curves.Count == poster.Length && poster.All(k => curves.Any(c => c.Kind == k))
            ? poster.Select(k => curves.First(c => c.Kind == k)).ToList()
            : curves.ToList();
        var columns = Math.Min(3, ordered.Count);
        var grid = Grids.ToGrid(ordered.Select(c => Tile.Heatmap(c.FinalMap).WithCaption($"{KindColors.Label(c.Kind)}  Q={Fmt(c.Q[^1])}")).ToList(), columns);
        var size = ordered[0].FinalMap.GetLength(0);
        Grids.Save(path, grid, new GridOptions($"Layer {setup.Layers} maps ({size}×{size}), mean filters")
        {
            Scale = HeatmapScale.Shared,
            Min = 0,
            ColorbarLabel = $"|F_{setup.Layers}|",
            TileSize = 150,
        });
    }

    /// <summary>Q_n measured on real networks (one curve per kind), stage ends marked.</summary>
    public static void SaveModelErosionCurves(string path, string model, IReadOnlyList<(ConvKind Kind, ModelErosionResult Result)> runs)
    {
        var first = runs[0].Result;
        Charts.SaveLines(path,
            new ChartOptions($"Information erosion in {model} on {first.Dataset} ({first.Images} images)", "Layer index n (main path; 0 = input)", "Mean L1 norm Q_n = mean |F_n|")
            {
                LogY = true,
                Markers = first.StageEnds.SkipLast(1).Select(s => new MarkerLine(s.Layer.Index, $"{s.Layer.Height}×{s.Layer.Width}")).ToList(),
                Legend = LegendCorner.LowerLeft,
            },
            runs.Select(r => Series.ForKind(r.Kind, r.Result.Layers.Select(l => (double)l.Index).ToList(), r.Result.Layers.Select(l => l.Q).ToList()) with { Markers = false }).ToList());
    }

    /// <summary>Activation centroid per layer (vertical solid, horizontal dashed), input pixels from the image centre.</summary>
    public static void SaveModelCentroids(string path, string model, IReadOnlyList<(ConvKind Kind, ModelErosionResult Result)> runs)
    {
        var series = new List<Series>();
        foreach (var (kind, r) in runs)
        {
            var x = r.Layers.Select(l => (double)l.Index).ToList();
            series.Add(Series.ForKind(kind, x, r.Layers.Select(l => l.CentroidY).ToList()) with { Label = $"{KindColors.Label(kind)} y", Markers = false });
            series.Add(Series.ForKind(kind, x, r.Layers.Select(l => l.CentroidX).ToList()) with { Label = $"{KindColors.Label(kind)} x", Markers = false, Dashed = true });
        }
        Charts.SaveLines(path,
            new ChartOptions($"Centroid of mean |F_n| in {model} (negative: up / left)", "Layer index n (main path; 0 = input)", "Centroid offset from image centre (input px)")
            {
                Markers = runs[0].Result.StageEnds.SkipLast(1).Select(s => new MarkerLine(s.Layer.Index)).ToList(),
                Legend = LegendCorner.LowerLeft,
            },
            series);
    }

    /// <summary>The poster's "C2 / C2sp / -all" figure: rows are the stage ends, columns the shown images per kind,
    /// then the mean over all images per kind. Every tile is stretched to its own range, so it shows where the
    /// activation is, not how much.</summary>
    public static void SaveFeatureMapGrid(string path, string model, IReadOnlyList<(ConvKind Kind, ModelErosionResult Result)> runs)
    {
        var first = runs[0].Result;
        var shown = first.ShownImages.Count;
        var rows = first.StageEnds.Count + 1;
        var cols = runs.Count * (shown + 1);
        var tiles = new Tile?[rows, cols];
        var columnLabels = new string[cols];
        for (var k = 0; k < runs.Count; k++)
        {
            var (kind, r) = runs[k];
            for (var i = 0; i < shown; i++)
            {
                var c = k * shown + i;
                columnLabels[c] = $"{KindColors.Label(kind)} #{i + 1}";
                tiles[0, c] = Tile.Image(r.ShownImages[i], r.Channels, r.Height, r.Width);
                for (var s = 0; s < r.StageEnds.Count; s++) tiles[s + 1, c] = Tile.Heatmap(r.StageEnds[s].PerImage[i]);
            }
            var all = runs.Count * shown + k;
            columnLabels[all] = $"{KindColors.Label(kind)}-all";
            for (var s = 0; s < r.StageEnds.Count; s++) tiles[s + 1, all] = Tile.Heatmap(r.StageEnds[s].Mean);
        }
        var rowLabels = new[] { "input" }.Concat(first.StageEnds.Select(s => $"Layer {s.Layer.Index}  {s.Layer.Height}×{s.Layer.Width}")).ToList();
        Grids.Save(path, tiles, new GridOptions($"{model}: mean |F| over channels at the stage ends ({first.Dataset})")
        {
            RowLabels = rowLabels,
            ColumnLabels = columnLabels,
            Scale = HeatmapScale.PerTile,
            Colormap = "inferno",
            TileSize = 112,
        });
    }

    private static List<MarkerLine> Boundaries(IReadOnlyList<int> boundaries, int size) =>
        boundaries.Select((b, i) => new MarkerLine(b, $"{size >> (i + 1)}×{size >> (i + 1)}")).ToList();

    private static double[] Indices(int count) => Enumerable.Range(0, count).Select(i => (double)i).ToArray();

    private static string Fmt(double v) => v.ToString(v >= 1e-3 ? "0.0000" : "0.00e0", CultureInfo.InvariantCulture);
}
