using static TorchSharp.torch;

namespace EvenConv.Plotting;

/// <summary>
/// One cell of a <see cref="Grids"/> figure: a heat map (a 2-D array of values, coloured by a colour map) or an image
/// (grey or RGB pixels). Small maps are enlarged with nearest-neighbour sampling so every pixel stays visible.
/// </summary>
public sealed class Tile
{
    private Tile(int height, int width, double[]? values, byte[]? rgb)
    {
        if (height < 1 || width < 1) throw new ArgumentException($"A tile needs a positive size, got {height}×{width}.");
        (Height, Width, Values, Rgb) = (height, width, values, rgb);
    }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Columns.</summary>
    public int Width { get; }

    /// <summary>A line of text under the tile (e.g. "Q=0.079", a class name), or null.</summary>
    public string? Caption { get; private init; }

    /// <summary>This tile with a caption under it.</summary>
    public Tile WithCaption(string? caption) => new(Height, Width, Values, Rgb) { Caption = caption };

    /// <summary>Heat-map values, row-major (H·W), or null for an image.</summary>
    internal double[]? Values { get; }

    /// <summary>Image pixels as interleaved RGB (H·W·3), or null for a heat map.</summary>
    internal byte[]? Rgb { get; }

    internal bool IsHeatmap => Values is not null;

    /// <summary>A heat map of <paramref name="values"/>[row, column].</summary>
    public static Tile Heatmap(double[,] values)
    {
        int h = values.GetLength(0), w = values.GetLength(1);
        var flat = new double[h * w];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++) flat[y * w + x] = values[y, x];
        return new Tile(h, w, flat, null);
    }

    /// <summary>A heat map of row-major values (H·W).</summary>
    public static Tile Heatmap(ReadOnlySpan<double> values, int height, int width)
    {
        CheckLength(values.Length, 1, height, width);
        return new Tile(height, width, values.ToArray(), null);
    }

    /// <summary>An image from 8-bit pixels, channel-major (C·H·W) as <see cref="Data.IImageDataset.ReadImage"/> gives
    /// them; C is 1 (grey) or 3 (RGB).</summary>
    public static Tile Image(ReadOnlySpan<byte> chw, int channels, int height, int width)
    {
        CheckLength(chw.Length, channels, height, width);
        CheckChannels(channels);
        var plane = height * width;
        var rgb = new byte[plane * 3];
        for (var p = 0; p < plane; p++)
            for (var c = 0; c < 3; c++) rgb[p * 3 + c] = chw[(channels == 1 ? 0 : c) * plane + p];
        return new Tile(height, width, null, rgb);
    }

    /// <summary>An image from float pixels, channel-major (C·H·W); values map linearly from [min, max] to black…white
    /// and are clamped (e.g. generator output in [−1, 1]: min −1, max 1).</summary>
    public static Tile Image(ReadOnlySpan<float> chw, int channels, int height, int width, float min = 0, float max = 1)
    {
        CheckLength(chw.Length, channels, height, width);
        CheckChannels(channels);
        if (!(max > min)) throw new ArgumentException($"Image range [{min}, {max}] is empty; max must exceed min.");
        var bytes = new byte[chw.Length];
        for (var i = 0; i < chw.Length; i++) bytes[i] = (byte)Math.Round(255 * Math.Clamp((chw[i] - min) / (max - min), 0, 1));
        return Image(bytes, channels, height, width);
    }

    /// <summary>A tile from a tensor: (H, W) → heat map; (C, H, W) with C = 1 or 3 → image (uint8 as is; floating
    /// point mapped from [min, max]).</summary>
    public static Tile FromTensor(Tensor t, float min = 0, float max = 1)
    {
        using var cpu = t.detach().cpu();
        switch (cpu.dim())
        {
            case 2:
                using (var d = cpu.to_type(ScalarType.Float64).contiguous())
                    return Heatmap(d.data<double>().ToArray(), (int)t.shape[0], (int)t.shape[1]);
            case 3 when cpu.dtype == ScalarType.Byte:
                using (var b = cpu.contiguous())
                    return Image(b.data<byte>().ToArray(), (int)t.shape[0], (int)t.shape[1], (int)t.shape[2]);
            case 3:
                using (var f = cpu.to_type(ScalarType.Float32).contiguous())
                    return Image(f.data<float>().ToArray(), (int)t.shape[0], (int)t.shape[1], (int)t.shape[2], min, max);
            default:
                throw new ArgumentException($"A tile is made from an (H, W) map or a (C, H, W) image; got shape [{string.Join(", ", t.shape)}].");
        }
    }

    private static void CheckLength(int length, int channels, int height, int width)
    {
        if (length != (long)channels * height * width)
            throw new ArgumentException($"{length} values do not make a {channels}×{height}×{width} tile.");
    }

    private static void CheckChannels(int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"An image tile has 1 (grey) or 3 (RGB) channels, got {channels}; show one channel as a heat map instead.");
    }
}
