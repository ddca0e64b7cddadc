using EvenConv.Layers;

namespace EvenConv.Plotting;

/// <summary>
/// One series of a line or scatter chart: points (X[i], Y[i]), optionally with symmetric error bars ±YError[i].
/// Non-finite points are skipped (a gap in the line); on a log axis non-positive values are skipped too.
/// </summary>
public sealed record Series(string Label, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    /// <summary>Line and marker colour; null takes the next <see cref="KindColors.Palette"/> entry.</summary>
    public PlotColor? Color { get; init; }

    /// <summary>Half-widths of error bars (e.g. a standard deviation), one per point, or null for none.</summary>
    public IReadOnlyList<double>? YError { get; init; }

    /// <summary>Draw the connecting line (false: a scatter plot).</summary>
    public bool Line { get; init; } = true;

    /// <summary>Draw a marker at every point.</summary>
    public bool Markers { get; init; } = true;

    /// <summary>Dashed instead of solid line (e.g. a reference curve, or a validation curve next to a training one).</summary>
    public bool Dashed { get; init; }

    /// <summary>A series for a kernel kind, labelled as the paper writes it ("C2sp") in the kind's colour.</summary>
    public static Series ForKind(ConvKind kind, IReadOnlyList<double> x, IReadOnlyList<double> y) =>
        new(KindColors.Label(kind), x, y) { Color = KindColors.For(kind) };

    /// <summary>Y against the point index 0, 1, 2, … (layer index, epoch, step).</summary>
    public static Series Indexed(string label, IReadOnlyList<double> y) =>
        new(label, Enumerable.Range(0, y.Count).Select(i => (double)i).ToArray(), y);
}

/// <summary>A vertical marker line at X, with an optional label (a stage boundary, a learning-rate drop).</summary>
public sealed record MarkerLine(double X, string? Label = null);

/// <summary>Where the legend sits inside the data area.</summary>
public enum LegendCorner { UpperRight, UpperLeft, LowerRight, LowerLeft }

/// <summary>What every chart states: a title and axis labels with units, e.g. "Test error (%)".</summary>
public sealed record ChartOptions(string Title, string XLabel, string YLabel)
{
    /// <summary>Logarithmic y axis (decade ticks, minor ticks per decade).</summary>
    public bool LogY { get; init; }

    /// <summary>Logarithmic x axis (e.g. parameters in a sweep).</summary>
    public bool LogX { get; init; }

    /// <summary>Vertical marker lines, drawn dashed grey behind the data.</summary>
    public IReadOnlyList<MarkerLine> Markers { get; init; } = [];

    /// <summary>Image size in pixels.</summary>
    public int Width { get; init; } = 1000;

    /// <summary>Image size in pixels.</summary>
    public int Height { get; init; } = 650;

    /// <summary>Fixed axis limits (in data units, also on log axes); null: fitted to the data.</summary>
    public double? XMin { get; init; }
    public double? XMax { get; init; }
    public double? YMin { get; init; }
    public double? YMax { get; init; }

    /// <summary>Legend position; the legend is shown when any series has a label.</summary>
    public LegendCorner Legend { get; init; } = LegendCorner.UpperRight;
}

/// <summary>One series of a grouped bar chart: one value per category (NaN leaves a gap), optional ± errors.</summary>
public sealed record BarSeries(string Label, IReadOnlyList<double> Values)
{
    public PlotColor? Color { get; init; }
    public IReadOnlyList<double>? Errors { get; init; }

    /// <summary>Bars of a kernel kind in its colour.</summary>
    public static BarSeries ForKind(ConvKind kind, IReadOnlyList<double> values) =>
        new(KindColors.Label(kind), values) { Color = KindColors.For(kind) };
}
