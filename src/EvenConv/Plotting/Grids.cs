using EvenConv.IO;
using SkiaSharp;

namespace EvenConv.Plotting;

/// <summary>How heat-map tiles of one figure are coloured.</summary>
public enum HeatmapScale
{
    /// <summary>One range for all heat maps, with a colour bar: magnitudes compare across tiles.</summary>
    Shared,
    /// <summary>One range per row, with no colour bar: compares tiles within a row (e.g. one layer across images).</summary>
    PerRow,
    /// <summary>Each tile stretched to its own range: shows where the mass is, not how much.</summary>
    PerTile,
}

/// <summary>Layout and colouring of a grid figure.</summary>
public sealed record GridOptions(string Title)
{
    /// <summary>Labels left of each row (e.g. "Layer 18 · 32×32"), or null.</summary>
    public IReadOnlyList<string>? RowLabels { get; init; }

    /// <summary>Labels above each column (e.g. "C2 · bird", "C2sp-all"), or null.</summary>
    public IReadOnlyList<string>? ColumnLabels { get; init; }

    /// <summary>Side of the square each tile is fitted into, in pixels.</summary>
    public int TileSize { get; init; } = 160;

    /// <summary>Heat-map colouring; see <see cref="HeatmapScale"/>.</summary>
    public HeatmapScale Scale { get; init; } = HeatmapScale.Shared;

    /// <summary>Fixed range of a shared scale; null: the data's minimum and maximum.</summary>
    public double? Min { get; init; }
    public double? Max { get; init; }

    /// <summary>Colour map of the heat maps: viridis, inferno, magma, turbo or gray.</summary>
    public string Colormap { get; init; } = "viridis";

    /// <summary>Label of the colour bar (quantity and unit), shown with a shared scale.</summary>
    public string ColorbarLabel { get; init; } = "";
}

/// <summary>
/// Grids of heat maps and images as PNG files (feature maps at several layers, samples of a generator, a panel of
/// final maps per kernel kind). Drawn with SkiaSharp in the same font as <see cref="Charts"/>; written atomically.
/// </summary>
public static class Grids
{
    private const int Gap = 10, Margin = 16, ColorbarWidth = 18;

    /// <summary>Writes a grid of <paramref name="tiles"/>[row, column]; a null cell stays empty.</summary>
    public static void Save(string path, Tile?[,] tiles, GridOptions options) => AtomicFile.WriteAllBytes(path, Render(tiles, options));

    /// <summary>Writes tiles row by row, <paramref name="columns"/> per row.</summary>
    public static void Save(string path, IReadOnlyList<Tile> tiles, int columns, GridOptions options) =>
        Save(path, ToGrid(tiles, columns), options);

    /// <summary>Lays out a list row by row, <paramref name="columns"/> per row.</summary>
    public static Tile?[,] ToGrid(IReadOnlyList<Tile> tiles, int columns)
    {
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "A grid needs at least one column.");
        var grid = new Tile?[(tiles.Count + columns - 1) / columns, columns];
        for (var i = 0; i < tiles.Count; i++) grid[i / columns, i % columns] = tiles[i];
        return grid;
    }

    /// <summary>The PNG bytes of <see cref="Save(string, Tile?[,], GridOptions)"/>.</summary>
    public static byte[] Render(Tile?[,] tiles, GridOptions options)
    {
        int rows = tiles.GetLength(0), cols = tiles.GetLength(1);
        if (rows == 0 || cols == 0) throw new ArgumentException("A grid figure needs at least one tile.");
        if (options.RowLabels is { } rl && rl.Count != rows) throw new ArgumentException($"{rl.Count} row labels for {rows} rows; give one per row.");
        if (options.ColumnLabels is { } cl && cl.Count != cols) throw new ArgumentException($"{cl.Count} column labels for {cols} columns; give one per column.");
        if (options.TileSize is < 16 or > 2048) throw new ArgumentOutOfRangeException(nameof(options), options.TileSize, "Tile size must be 16–2048 px.");
        var colormap = Colormap(options.Colormap);

        using var typeface = SKTypeface.FromFamilyName(Charts.FontName) ?? SKTypeface.Default;
        using var bold = SKTypeface.FromFamilyName(Charts.FontName, SKFontStyle.Bold) ?? typeface;
        using var titleFont = new SKFont(bold, 20);
        using var labelFont = new SKFont(typeface, 14);
        using var captionFont = new SKFont(typeface, 12);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };

        var heatmaps = Cells(tiles).Where(c => c.Tile.IsHeatmap).ToList();
        var shared = options.Scale == HeatmapScale.Shared && heatmaps.Count > 0;
        var (sharedMin, sharedMax) = shared ? Range(heatmaps.SelectMany(c => c.Tile.Values!), options.Min, options.Max) : (0, 1);

        var size = options.TileSize;
        var rowLabelWidth = options.RowLabels is { } rls ? (int)Math.Ceiling(rls.Max(l => labelFont.MeasureText(l))) + Gap : 0;
        var hasCaptions = Cells(tiles).Any(c => c.Tile.Caption is not null);
        var cellHeight = size + (hasCaptions ? 18 : 0);
        var titleHeight = options.Title.Length > 0 ? 34 : 0;
        var columnLabelHeight = options.ColumnLabels is not null ? 22 : 0;
        var colorbarSpace = shared ? ColorbarWidth + 80 + (options.ColorbarLabel.Length > 0 ? 24 : 0) : 0;
        var gridLeft = Margin + rowLabelWidth;
        var gridTop = Margin + titleHeight + columnLabelHeight;
        var width = gridLeft + cols * size + (cols - 1) * Gap + colorbarSpace + Margin;
        var height = gridTop + rows * cellHeight + (rows - 1) * Gap + Margin;
        width = Math.Max(width, (int)titleFont.MeasureText(options.Title) + 2 * Margin);

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}×{height} canvas.");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        if (titleHeight > 0) canvas.DrawText(options.Title, width / 2f, Margin + 22, SKTextAlign.Center, titleFont, ink);
        for (var c = 0; c < cols; c++)
            if (options.ColumnLabels is { } labels)
                canvas.DrawText(labels[c], gridLeft + c * (size + Gap) + size / 2f, gridTop - 7, SKTextAlign.Center, labelFont, ink);
        for (var r = 0; r < rows; r++)
        {
            var top = gridTop + r * (cellHeight + Gap);
            if (options.RowLabels is { } labels)
                canvas.DrawText(labels[r], Margin, top + size / 2f + 5, SKTextAlign.Left, labelFont, ink);
            var rowRange = options.Scale == HeatmapScale.PerRow
                ? Range(Enumerable.Range(0, cols).Select(c => tiles[r, c]).Where(t => t?.IsHeatmap == true).SelectMany(t => t!.Values!), null, null)
                : (0, 1);
            for (var c = 0; c < cols; c++)
            {
                if (tiles[r, c] is not { } tile) continue;
                var (lo, hi) = !tile.IsHeatmap ? (0, 1) : options.Scale switch
                {
                    HeatmapScale.Shared => (sharedMin, sharedMax),
                    HeatmapScale.PerRow => rowRange,
                    _ => Range(tile.Values!, null, null),
                };
                var left = gridLeft + c * (size + Gap);
                DrawTile(canvas, tile, new SKRect(left, top, left + size, top + size), colormap, lo, hi);
                if (tile.Caption is { } caption)
                    canvas.DrawText(caption, left + size / 2f, top + size + 14, SKTextAlign.Center, captionFont, ink);
            }
        }
        if (shared) DrawColorbar(canvas, colormap, sharedMin, sharedMax, options.ColorbarLabel,
            new SKRect(width - Margin - colorbarSpace + 12, gridTop, width - Margin - colorbarSpace + 12 + ColorbarWidth, gridTop + Math.Min(rows * cellHeight, 3 * size)), labelFont, ink);

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static IEnumerable<(int Row, int Col, Tile Tile)> Cells(Tile?[,] tiles)
    {
        for (var r = 0; r < tiles.GetLength(0); r++)
            for (var c = 0; c < tiles.GetLength(1); c++)
                if (tiles[r, c] is { } t) yield return (r, c, t);
    }

    private static (double Min, double Max) Range(IEnumerable<double> values, double? min, double? max)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values.Where(double.IsFinite)) (lo, hi) = (Math.Min(lo, v), Math.Max(hi, v));
        lo = min ?? (double.IsFinite(lo) ? lo : 0);
        hi = max ?? (double.IsFinite(hi) ? hi : 1);
        return hi > lo ? (lo, hi) : (lo, lo + 1e-12);
    }

    private static void DrawTile(SKCanvas canvas, Tile tile, SKRect cell, ScottPlot.IColormap colormap, double lo, double hi)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(tile.Width, tile.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (var y = 0; y < tile.Height; y++)
            for (var x = 0; x < tile.Width; x++)
            {
                var p = y * tile.Width + x;
                bitmap.SetPixel(x, y, tile.IsHeatmap
                    ? ToSkia(colormap.GetColor(Math.Clamp((tile.Values![p] - lo) / (hi - lo), 0, 1)))
                    : new SKColor(tile.Rgb![p * 3], tile.Rgb[p * 3 + 1], tile.Rgb[p * 3 + 2]));
            }
        // Fit inside the square cell, keeping the aspect ratio, centred.
        var scale = Math.Min(cell.Width / tile.Width, cell.Height / tile.Height);
        float w = tile.Width * scale, h = tile.Height * scale;
        var dest = SKRect.Create(cell.MidX - w / 2, cell.MidY - h / 2, w, h);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, dest, new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None));
        using var frame = new SKPaint { Color = new SKColor(0, 0, 0, 80), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        canvas.DrawRect(dest, frame);
    }

    private static void DrawColorbar(SKCanvas canvas, ScottPlot.IColormap colormap, double lo, double hi, string label, SKRect bar, SKFont font, SKPaint ink)
    {
        var steps = (int)bar.Height;
        using var fill = new SKPaint();
        for (var i = 0; i < steps; i++)
        {
            fill.Color = ToSkia(colormap.GetColor(1 - i / (double)(steps - 1)));
            canvas.DrawRect(bar.Left, bar.Top + i, bar.Width, 1.5f, fill);
        }
        using var frame = new SKPaint { Color = SKColors.Black, Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        canvas.DrawRect(bar, frame);
        for (var i = 0; i <= 4; i++)
        {
            var y = bar.Bottom - i / 4f * bar.Height;
            canvas.DrawLine(bar.Right, y, bar.Right + 4, y, frame);
            canvas.DrawText(FormatTick(lo + (hi - lo) * i / 4), bar.Right + 7, y + 5, SKTextAlign.Left, font, ink);
        }
        if (label.Length == 0) return;
        canvas.Save();
        canvas.RotateDegrees(90, bar.Right + 78, bar.MidY);
        canvas.DrawText(label, bar.Right + 78, bar.MidY, SKTextAlign.Center, font, ink);
        canvas.Restore();
    }

    private static string FormatTick(double v) =>
        v == 0 || Math.Abs(v) is >= 1e-3 and < 1e4 ? v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : v.ToString("0.0e0", System.Globalization.CultureInfo.InvariantCulture);

    private static SKColor ToSkia(ScottPlot.Color c) => new(c.R, c.G, c.B);

    private static ScottPlot.IColormap Colormap(string name) => name.ToLowerInvariant() switch
    {
        "viridis" => new ScottPlot.Colormaps.Viridis(),
        "inferno" => new ScottPlot.Colormaps.Inferno(),
        "magma" => new ScottPlot.Colormaps.Magma(),
        "turbo" => new ScottPlot.Colormaps.Turbo(),
        "gray" or "grey" => new ScottPlot.Colormaps.Grayscale(),
        _ => throw new ArgumentException($"Unknown colour map '{name}'; use viridis, inferno, magma, turbo or gray."),
    };
}
