using EvenConv.IO;
using ScottPlot;

namespace EvenConv.Plotting;

/// <summary>
/// Line/scatter charts and grouped bar charts as PNG files, all in one style (font, sizes, kind colours, grid).
/// Rendering is headless (ScottPlot on SkiaSharp); files are written atomically.
/// </summary>
public static class Charts
{
    /// <summary>The font of every figure; DejaVu Sans ships with Debian and most Linux images.</summary>
    internal const string FontName = "DejaVu Sans";

    /// <summary>Writes a line chart (or a scatter chart: <see cref="Series.Line"/> false), with error bars where given.</summary>
    public static void SaveLines(string path, ChartOptions options, IReadOnlyList<Series> series) =>
        AtomicFile.WriteAllBytes(path, RenderLines(options, series));

    /// <summary>The PNG bytes of <see cref="SaveLines"/>.</summary>
    public static byte[] RenderLines(ChartOptions options, IReadOnlyList<Series> series)
    {
        CheckSize(options);
        var plot = NewPlot(options);
        foreach (var m in options.Markers) AddMarker(plot, m, options);
        var palette = 0;
        foreach (var s in series)
        {
            if (s.X.Count != s.Y.Count)
                throw new ArgumentException($"Series '{s.Label}' has {s.X.Count} x values but {s.Y.Count} y values; give one x per y.");
            if (s.YError is { } e && e.Count != s.Y.Count)
                throw new ArgumentException($"Series '{s.Label}' has {s.Y.Count} points but {e.Count} error values; give one error per point or none.");
            var color = ToScott(s.Color ?? KindColors.Palette[palette++ % KindColors.Palette.Count]);
            var points = Enumerable.Range(0, s.Y.Count).Where(i => Plottable(s.X[i], options.LogX) && Plottable(s.Y[i], options.LogY)).ToArray();
            var xs = points.Select(i => Map(s.X[i], options.LogX)).ToArray();
            var ys = points.Select(i => Map(s.Y[i], options.LogY)).ToArray();
            var scatter = plot.Add.Scatter(xs, ys, color);
            scatter.LegendText = s.Label;
            scatter.LineWidth = s.Line ? 2.5f : 0;
            scatter.LinePattern = s.Dashed ? LinePattern.Dashed : LinePattern.Solid;
            scatter.MarkerSize = s.Markers ? (s.Line ? 5 : 8) : 0;
            if (s.YError is { } err)
            {
                // On a log axis a symmetric error is asymmetric: draw the true interval [y − e, y + e].
                var up = points.Select(i => Map(s.Y[i] + err[i], options.LogY) - Map(s.Y[i], options.LogY)).ToArray();
                var down = points.Select(i => Map(s.Y[i], options.LogY) - MapClamped(s.Y[i] - err[i], s.Y[i], options.LogY)).ToArray();
                var bars = plot.Add.ErrorBar(xs, ys, up);
                bars.YErrorPositive = up;
                bars.YErrorNegative = down;
                bars.Color = color;
                bars.LineWidth = 1.5f;
            }
        }
        ApplyLimits(plot, options);
        if (series.Any(s => s.Label.Length > 0)) ShowLegend(plot, options.Legend);
        return plot.GetImageBytes(options.Width, options.Height, ImageFormat.Png);
    }

    /// <summary>Writes a grouped bar chart: one group per category, one bar per series inside each group.</summary>
    public static void SaveGroupedBars(string path, ChartOptions options, IReadOnlyList<string> categories, IReadOnlyList<BarSeries> series) =>
        AtomicFile.WriteAllBytes(path, RenderGroupedBars(options, categories, series));

    /// <summary>The PNG bytes of <see cref="SaveGroupedBars"/>.</summary>
    public static byte[] RenderGroupedBars(ChartOptions options, IReadOnlyList<string> categories, IReadOnlyList<BarSeries> series)
    {
        CheckSize(options);
        if (options.LogY || options.LogX) throw new ArgumentException("Bar charts use linear axes; plot ratios or differences instead of a log scale.");
        if (series.Count == 0) throw new ArgumentException("A bar chart needs at least one series.");
        var plot = NewPlot(options);
        const double groupWidth = 0.8;
        var barWidth = groupWidth / series.Count;
        for (var s = 0; s < series.Count; s++)
        {
            var bs = series[s];
            if (bs.Values.Count != categories.Count)
                throw new ArgumentException($"Bar series '{bs.Label}' has {bs.Values.Count} values for {categories.Count} categories; give one value per category (NaN for none).");
            var color = ToScott(bs.Color ?? KindColors.Palette[s % KindColors.Palette.Count]);
            var bars = new List<Bar>();
            for (var c = 0; c < categories.Count; c++)
            {
                if (!double.IsFinite(bs.Values[c])) continue;
                bars.Add(new Bar
                {
                    Position = c - groupWidth / 2 + barWidth * (s + 0.5),
                    Value = bs.Values[c],
                    Size = barWidth * 0.92,
                    Error = bs.Errors is { } e ? e[c] : 0,
                    FillColor = color,
                    LineWidth = 0,
                });
            }
            plot.Add.Bars(bars);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = bs.Label, FillColor = color });
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, categories.Count).Select(i => (double)i).ToArray(), categories.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Grid.XAxisStyle.IsVisible = false;
        plot.Axes.Margins(bottom: 0);
        ApplyLimits(plot, options);
        ShowLegend(plot, options.Legend);
        return plot.GetImageBytes(options.Width, options.Height, ImageFormat.Png);
    }

    private static Plot NewPlot(ChartOptions options)
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Title(options.Title, 20);
        plot.XLabel(options.XLabel, 16);
        plot.YLabel(options.YLabel, 16);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.12);
        if (options.LogY) plot.Axes.Left.TickGenerator = LogTicks();
        if (options.LogX) plot.Axes.Bottom.TickGenerator = LogTicks();
        return plot;
    }

    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        LabelFormatter = v => FormatDecade(Math.Pow(10, v)),
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
    };

    private static string FormatDecade(double v) => v is >= 1e-3 and < 1e5 ? v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : v.ToString("0e0", System.Globalization.CultureInfo.InvariantCulture);

    private static void AddMarker(Plot plot, MarkerLine marker, ChartOptions options)
    {
        var line = plot.Add.VerticalLine(Map(marker.X, options.LogX), 1.5f, Colors.Gray, LinePattern.Dashed);
        if (marker.Label is { } text)
        {
            line.LabelText = text;
            line.LabelFontSize = 12;
            line.LabelFontName = FontName;
            line.LabelOppositeAxis = true;
        }
    }

    private static void ApplyLimits(Plot plot, ChartOptions o)
    {
        plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        plot.Axes.SetLimits(
            o.XMin is { } x0 ? Map(x0, o.LogX) : limits.Left, o.XMax is { } x1 ? Map(x1, o.LogX) : limits.Right,
            o.YMin is { } y0 ? Map(y0, o.LogY) : limits.Bottom, o.YMax is { } y1 ? Map(y1, o.LogY) : limits.Top);
    }

    private static void ShowLegend(Plot plot, LegendCorner corner)
    {
        plot.Legend.IsVisible = true;
        plot.Legend.FontSize = 14;
        plot.Legend.FontName = FontName;
        plot.Legend.Alignment = corner switch
        {
            LegendCorner.UpperLeft => Alignment.UpperLeft,
            LegendCorner.LowerRight => Alignment.LowerRight,
            LegendCorner.LowerLeft => Alignment.LowerLeft,
            _ => Alignment.UpperRight,
        };
    }

    private static bool Plottable(double v, bool log) => double.IsFinite(v) && (!log || v > 0);

    private static double Map(double v, bool log) => log ? Math.Log10(v) : v;

    // The lower end of an error bar on a log axis may reach zero or below: clamp it a few decades under the point.
    private static double MapClamped(double v, double y, bool log) => log ? Math.Log10(Math.Max(v, y * 1e-3)) : v;

    internal static Color ToScott(PlotColor c) => new(c.R, c.G, c.B);

    private static void CheckSize(ChartOptions o)
    {
        if (o.Width is < 200 or > 8000 || o.Height is < 150 or > 8000)
            throw new ArgumentOutOfRangeException(nameof(o), $"Figure size {o.Width}×{o.Height} px is out of range; use 200–8000 × 150–8000 (default 1000×650).");
    }
}
