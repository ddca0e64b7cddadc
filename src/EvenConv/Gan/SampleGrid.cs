using EvenConv.IO;
using SkiaSharp;
using static TorchSharp.torch;

namespace EvenConv.Gan;

/// <summary>Tiles a batch of generated images into one PNG (grey or RGB, values in [−1, 1]).</summary>
public static class SampleGrid
{
    /// <summary>Writes <paramref name="images"/> (N, C, H, W) as a grid with <paramref name="columns"/> columns
    /// (default: the smallest square that holds them), separated by <paramref name="gap"/> grey pixels; atomically.</summary>
    public static void WritePng(string path, Tensor images, int columns = 0, int gap = 2)
    {
        var (rgba, width, height) = Tile(images, columns, gap);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var image = SKImage.FromPixelCopy(info, rgba);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.AsSpan());
    }

    /// <summary>The grid as RGBA bytes (row-major) with its size.</summary>
    public static (byte[] Rgba, int Width, int Height) Tile(Tensor images, int columns = 0, int gap = 2)
    {
        if (images.dim() != 4 || (images.shape[1] != 1 && images.shape[1] != 3))
            throw new ArgumentException($"Expected images of shape (N, 1 or 3, H, W), got [{string.Join(", ", images.shape)}].", nameof(images));
        int n = (int)images.shape[0], c = (int)images.shape[1], h = (int)images.shape[2], w = (int)images.shape[3];
        if (columns <= 0) columns = (int)Math.Ceiling(Math.Sqrt(n));
        var rows = (n + columns - 1) / columns;
        int width = columns * w + (columns + 1) * gap, height = rows * h + (rows + 1) * gap;
        byte[] pixels;
        using (var scope = NewDisposeScope())
        {
            // (N, H, W, C) bytes, contiguous.
            var u8 = images.detach().to(float32).add(1).mul(127.5).round().clamp(0, 255).to(uint8).permute(0, 2, 3, 1).contiguous();
            pixels = u8.data<byte>().ToArray();
        }
        var rgba = new byte[width * height * 4];
        for (var i = 0; i < rgba.Length; i += 4) (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = ((byte)128, (byte)128, (byte)128, (byte)255);
        for (var k = 0; k < n; k++)
        {
            int x0 = gap + (k % columns) * (w + gap), y0 = gap + (k / columns) * (h + gap);
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var src = ((k * h + y) * w + x) * c;
                    var dst = ((y0 + y) * width + x0 + x) * 4;
                    rgba[dst] = pixels[src];
                    rgba[dst + 1] = pixels[src + (c == 3 ? 1 : 0)];
                    rgba[dst + 2] = pixels[src + (c == 3 ? 2 : 0)];
                }
        }
        return (rgba, width, height);
    }
}
