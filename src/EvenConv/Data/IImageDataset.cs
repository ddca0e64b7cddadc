namespace EvenConv.Data;

/// <summary>
/// A labelled image data set: every reader (IDX, CIFAR binary, image folder) produces one, and every consumer
/// (classification training, GAN training, erosion analysis) reads through it. Images are 8-bit, stored
/// channel-major (C, H, W), all of one size.
/// </summary>
public interface IImageDataset
{
    /// <summary>A short name for tables and file names, e.g. "fashion-mnist/train".</summary>
    string Name { get; }

    /// <summary>Number of images.</summary>
    int Count { get; }

    /// <summary>Channels per image (1 for grey, 3 for RGB).</summary>
    int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    int Height { get; }

    /// <summary>Image width in pixels.</summary>
    int Width { get; }

    /// <summary>Class names, indexed by label.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label of image <paramref name="index"/>, in [0, ClassNames.Count).</summary>
    int Label(int index);

    /// <summary>Copies image <paramref name="index"/> into <paramref name="destination"/> (C·H·W bytes, channel-major).</summary>
    void ReadImage(int index, Span<byte> destination);
}

/// <summary>A data set held in memory as one byte array.</summary>
public sealed class InMemoryImageDataset : IImageDataset
{
    private readonly byte[] _pixels;
    private readonly int[] _labels;

    /// <summary>Wraps pixels (N·C·H·W bytes, channel-major per image) and labels; checks sizes and label ranges.</summary>
    public InMemoryImageDataset(string name, byte[] pixels, int[] labels, int channels, int height, int width, IReadOnlyList<string> classNames)
    {
        if (channels < 1 || height < 1 || width < 1) throw new ArgumentException($"{name}: image size {channels}×{height}×{width} is not positive.");
        var imageBytes = (long)channels * height * width;
        if (pixels.LongLength != imageBytes * labels.Length)
            throw new InvalidDataException($"{name}: {pixels.LongLength} pixel bytes do not hold {labels.Length} images of {channels}×{height}×{width}.");
        for (var i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new InvalidDataException($"{name}: label {labels[i]} of image {i} is outside [0, {classNames.Count}).");
        (Name, _pixels, _labels, Channels, Height, Width, ClassNames) = (name, pixels, labels, channels, height, width, classNames);
    }

    public string Name { get; }
    public int Count => _labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Label(int index) => _labels[index];

    public void ReadImage(int index, Span<byte> destination)
    {
        var size = Channels * Height * Width;
        _pixels.AsSpan(index * size, size).CopyTo(destination);
    }
}
