namespace EvenConv.Data;

/// <summary>
/// Turns one 8-bit image into normalised floats, applying pad-and-random-crop, horizontal flip and cutout on the way in
/// a single pass. Padding and cutout fill with raw black (0 before normalisation) or, with
/// <see cref="AugmentationOptions.NormalizeFirst"/>, with 0 after normalisation.
/// </summary>
internal static class SampleTransform
{
    /// <summary>Writes image (C·H·W bytes, channel-major) into <paramref name="destination"/> (C·H·W floats), laid out
    /// HWC when <paramref name="channelsLast"/>, else CHW. Random draws, in order: crop dy, crop dx, flip, cutout centre y, x.</summary>
    public static void Apply(ReadOnlySpan<byte> image, Span<float> destination, int channels, int height, int width,
        ChannelNormalization normalization, AugmentationOptions augmentation, ref CounterRandom random, bool channelsLast)
    {
        int dy = 0, dx = 0;
        var pad = augmentation.PadCrop;
        if (pad > 0) { dy = random.Next(2 * pad + 1) - pad; dx = random.Next(2 * pad + 1) - pad; }
        var flip = augmentation.HorizontalFlip && random.Next(2) == 1;
        int cutY0 = 0, cutY1 = 0, cutX0 = 0, cutX1 = 0;
        if (augmentation.Cutout > 0)
        {
            var size = augmentation.Cutout;
            var cy = random.Next(height);
            var cx = random.Next(width);
            (cutY0, cutY1) = (Math.Max(0, cy - size / 2), Math.Min(height, cy - size / 2 + size));
            (cutX0, cutX1) = (Math.Max(0, cx - size / 2), Math.Min(width, cx - size / 2 + size));
        }
        var plane = height * width;
        for (var c = 0; c < channels; c++)
        {
            var mean = normalization.Mean[c];
            var scale = 1f / normalization.Std[c];
            var fill = augmentation.NormalizeFirst ? 0f : -mean * scale;
            var source = image.Slice(c * plane, plane);
            for (var y = 0; y < height; y++)
            {
                var sy = y + dy;
                var rowInside = (uint)sy < (uint)height;
                var cutRow = y >= cutY0 && y < cutY1;
                for (var x = 0; x < width; x++)
                {
                    var sx = (flip ? width - 1 - x : x) + dx;
                    float value;
                    if (cutRow && x >= cutX0 && x < cutX1) value = fill;
                    else if (rowInside && (uint)sx < (uint)width) value = (source[sy * width + sx] - mean) * scale;
                    else value = fill;
                    destination[channelsLast ? (y * width + x) * channels + c : c * plane + y * width + x] = value;
                }
            }
        }
    }
}
