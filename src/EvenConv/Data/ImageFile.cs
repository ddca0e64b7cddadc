using SkiaSharp;

namespace EvenConv.Data;

/// <summary>One PNG or JPEG file as a model input: decoded with SkiaSharp, resized (bilinear with mipmaps) when its size
/// differs, grey (ITU-R BT.601 luma) or RGB, channel-major bytes.</summary>
public static class ImageFile
{
    /// <summary>C·H·W bytes of <paramref name="path"/> at <paramref name="channels"/> (1 or 3) × <paramref name="height"/> × <paramref name="width"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a readable image.</exception>
    public static byte[] Read(string path, int channels, int height, int width)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images have 1 (grey) or 3 (RGB) channels.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: image not found.", path);
        using var decoded = SKBitmap.Decode(path)
            ?? throw new InvalidDataException($"{path}: not a readable PNG or JPEG image (corrupt, truncated or another format).");
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var rgba = decoded.Width == width && decoded.Height == height && decoded.ColorType == SKColorType.Rgba8888
            ? decoded.Copy()
            : decoded.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
              ?? throw new InvalidDataException($"{path}: could not be resized to {width}×{height}.");
        var pixels = rgba.Bytes;
        var plane = width * height;
        var result = new byte[channels * plane];
        for (var i = 0; i < plane; i++)
        {
            byte r = pixels[4 * i], g = pixels[4 * i + 1], b = pixels[4 * i + 2];
            if (channels == 1) result[i] = (byte)Math.Clamp(Math.Round(0.299 * r + 0.587 * g + 0.114 * b), 0, 255);
            else (result[i], result[plane + i], result[2 * plane + i]) = (r, g, b);
        }
        return result;
    }
}
