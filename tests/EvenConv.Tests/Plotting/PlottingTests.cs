using EvenConv.Layers;
using EvenConv.Plotting;
using SkiaSharp;

namespace EvenConv.Tests.Plotting;

public sealed class PlottingTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("evenconv-plots-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void A_log_y_line_chart_with_markers_and_error_bars_is_a_non_blank_png_of_the_requested_size()
    {
        var path = Path.Combine(_dir.FullName, "sub", "lines.png");
        var x = Enumerable.Range(0, 55).Select(i => (double)i).ToArray();
        Charts.SaveLines(path, new ChartOptions("Erosion", "Layer index", "Mean |F|")
        {
            LogY = true,
            Width = 640,
            Height = 420,
            Markers = [new MarkerLine(18, "16×16"), new MarkerLine(36)],
        },
        [
            Series.ForKind(ConvKind.C2, x, x.Select(i => 0.5 * Math.Exp(-i / 5)).ToArray()),
            Series.ForKind(ConvKind.C2sp, x, x.Select(i => 0.5 * Math.Exp(-i / 30)).ToArray()) with { YError = x.Select(i => 0.01).ToArray() },
            new Series("zero and NaN are skipped on a log axis", [0, 1, 2], [0, double.NaN, 0.1]),
        ]);
        AssertPng(path, 640, 420);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void A_scatter_chart_and_a_grouped_bar_chart_render()
    {
        var scatter = Path.Combine(_dir.FullName, "scatter.png");
        Charts.SaveLines(scatter, new ChartOptions("Sweep", "Parameters (M)", "Test error (%)") { LogX = true },
            [new Series("C3", [0.27, 0.85, 1.7], [7.8, 6.5, 6.1]) { Line = false, YError = [0.1, 0.2, 0.1] }]);
        AssertPng(scatter, 1000, 650);

        var bars = Path.Combine(_dir.FullName, "bars.png");
        Charts.SaveGroupedBars(bars, new ChartOptions("Step time", "Depth", "Time per step (ms)") { Width = 800, Height = 500 },
            ["ResNet-20", "ResNet-56", "ResNet-110"],
            [BarSeries.ForKind(ConvKind.C3, [191, 520, 1010]), BarSeries.ForKind(ConvKind.C2sp, [155, 430, double.NaN]) with { Errors = [5, 9, 0] }]);
        AssertPng(bars, 800, 500);
    }

    [Fact]
    public void Heat_map_and_image_grids_render_with_labels_captions_and_a_colour_bar()
    {
        var path = Path.Combine(_dir.FullName, "grid.png");
        var map = new double[8, 8];
        for (var i = 0; i < 8; i++)
            for (var j = 0; j < 8; j++) map[i, j] = i * j;
        var rgb = new byte[3 * 4 * 4];
        for (var i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 5);
        var tiles = new Tile?[2, 2]
        {
            { Tile.Heatmap(map).WithCaption("Q=0.08"), Tile.Image(rgb, 3, 4, 4) },
            { Tile.Image(new float[] { -1, 0, 0.5f, 1 }, 1, 2, 2, min: -1), null },
        };
        Grids.Save(path, tiles, new GridOptions("Maps") { RowLabels = ["a", "b"], ColumnLabels = ["x", "y"], ColorbarLabel = "|F|" });
        using var bitmap = SKBitmap.Decode(path);
        Assert.True(bitmap.Width > 2 * 160 && bitmap.Height > 2 * 160);
        Assert.True(Variance(bitmap) > 100);
    }

    [Fact]
    public void Mismatched_inputs_are_rejected_with_a_message_that_says_what_to_give()
    {
        var path = Path.Combine(_dir.FullName, "bad.png");
        var e = Assert.Throws<ArgumentException>(() => Charts.SaveLines(path, new ChartOptions("t", "x", "y"), [new Series("s", [1, 2], [1])]));
        Assert.Contains("one x per y", e.Message);
        Assert.Throws<ArgumentException>(() => Grids.Save(path, new Tile?[1, 1] { { Tile.Heatmap(new double[2, 2]) } }, new GridOptions("t") { RowLabels = ["a", "b"] }));
        Assert.Throws<ArgumentException>(() => Tile.Image(new byte[8], 2, 2, 2));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Every_paper_kind_has_its_poster_colour_and_other_kinds_get_a_stable_one()
    {
        Assert.Equal(6, ConvKind.PaperKinds.Select(KindColors.For).Distinct().Count());
        Assert.Equal("#000000", KindColors.For(ConvKind.C4).Hex);
        Assert.Equal(KindColors.For(ConvKind.Parse("c7")), KindColors.For(ConvKind.Parse("c7")));
        Assert.Equal("C2sp", KindColors.Label(ConvKind.C2sp));
    }

    private static void AssertPng(string path, int width, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
        Assert.True(Variance(bitmap) > 100, "the image is blank");
    }

    // Variance of the grey level over all pixels: a blank (single-colour) image has 0.
    private static double Variance(SKBitmap bitmap)
    {
        var grey = bitmap.Pixels.Select(p => (p.Red + p.Green + p.Blue) / 3.0).ToArray();
        var mean = grey.Average();
        return grey.Average(g => (g - mean) * (g - mean));
    }
}
