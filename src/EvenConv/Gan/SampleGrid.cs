using EvenConv.Plotting;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan;

/// <summary>Sample grids of a generator: a batch tiled into one mosaic, drawn with <see cref="Grids"/>.</summary>
public static class SampleGrid
{
    /// <summary>
    /// Tiles <paramref name="images"/> (N, C, H, W) with values in [−1, 1] into one (C, H', W') image, row by row with
    /// <paramref name="columns"/> columns (default: the smallest square that holds them), <paramref name="gap"/>
    /// mid-grey pixels between and around the images.
    /// </summary>
    public static Tensor Mosaic(Tensor images, int columns = 0, int gap = 2)
    {
        if (images.dim() != 4 || (images.shape[1] != 1 && images.shape[1] != 3))
            throw new ArgumentException($"Expected images of shape (N, 1 or 3, H, W), got [{string.Join(", ", images.shape)}].", nameof(images));
        long n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        if (columns <= 0) columns = (int)Math.Ceiling(Math.Sqrt(n));
        var rows = (n + columns - 1) / columns;
        using var scope = NewDisposeScope();
        var x = F.pad(images.detach().to(float32).contiguous(), [0, gap, 0, gap], value: 0.0);
        if (rows * columns > n) x = cat([x, zeros(rows * columns - n, c, h + gap, w + gap)], 0);
        var mosaic = x.view(rows, columns, c, h + gap, w + gap).permute(2, 0, 3, 1, 4).reshape(c, rows * (h + gap), columns * (w + gap));
        return F.pad(mosaic.unsqueeze(0), [gap, 0, gap, 0], value: 0.0).squeeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>The mosaic of <paramref name="images"/> as a figure tile.</summary>
    public static Tile ToTile(Tensor images, int columns = 0)
    {
        using var mosaic = Mosaic(images, columns);
        return Tile.FromTensor(mosaic, -1, 1);
    }

    /// <summary>Writes the mosaic of <paramref name="images"/> as a PNG figure titled <paramref name="title"/>, enlarged
    /// so that small images stay readable; atomically.</summary>
    public static void WritePng(string path, Tensor images, string title)
    {
        var tile = ToTile(images);
        var side = Math.Max(tile.Width, tile.Height);
        var scale = Math.Max(1, (512 + side - 1) / side);
        Grids.Save(path, [tile], 1, new GridOptions(title) { TileSize = Math.Clamp(side * scale, 16, 2048) });
    }
}
