using SkiaSharp;

namespace EvenConv.Data;

/// <summary>
/// An ImageNet-style folder: one sub-folder per class (classes in ordinal name order), PNG or JPEG files inside.
/// Opening reads every file's header (size, colour type) so that a corrupt file, a size mismatch or an empty class is
/// reported at once; pixels are decoded on demand with SkiaSharp, so the folder may be larger than memory. Images are
/// grey (1 channel) when every file is grey, RGB (3 channels) otherwise; alpha is dropped.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];
    private readonly string[] _files;
    private readonly int[] _labels;

    private ImageFolderDataset(string name, string[] files, int[] labels, int channels, int height, int width, IReadOnlyList<string> classNames) =>
        (Name, _files, _labels, Channels, Height, Width, ClassNames) = (name, files, labels, channels, height, width, classNames);

    public string Name { get; }
    public int Count => _files.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Label(int index) => _labels[index];

    /// <summary>The file image <paramref name="index"/> comes from.</summary>
    public string FilePath(int index) => _files[index];

    /// <summary>Scans <paramref name="directory"/> (class per sub-folder) and checks every image header.</summary>
    public static ImageFolderDataset Open(string directory, string name)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: image folder not found.");
        var classDirs = Directory.GetDirectories(directory).Order(StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0)
            throw new InvalidDataException($"{directory}: has no class sub-folders; an image folder holds one sub-folder per class (e.g. {directory}/cat/001.png).");
        var files = new List<string>();
        var labels = new List<int>();
        for (var c = 0; c < classDirs.Length; c++)
        {
            var images = Directory.EnumerateFiles(classDirs[c])
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal).ToArray();
            if (images.Length == 0)
                throw new InvalidDataException($"{classDirs[c]}: class folder has no PNG or JPEG images; add images or remove the folder.");
            files.AddRange(images);
            labels.AddRange(Enumerable.Repeat(c, images.Length));
        }

        SKImageInfo? first = null;
        string firstFile = "";
        var allGrey = true;
        foreach (var file in files)
        {
            var info = ReadHeader(file);
            if (first is null) (first, firstFile) = (info, file);
            else if (info.Width != first.Value.Width || info.Height != first.Value.Height)
                throw new InvalidDataException($"{file}: is {info.Width}×{info.Height} but {firstFile} is {first.Value.Width}×{first.Value.Height}; " +
                    "all images of a data set must have one size, so resize them first.");
            allGrey &= info.ColorType == SKColorType.Gray8;
        }
        var classNames = classDirs.Select(d => Path.GetFileName(d)!).ToArray();
        return new ImageFolderDataset(name, files.ToArray(), labels.ToArray(), allGrey ? 1 : 3, first!.Value.Height, first.Value.Width, classNames);
    }

    public void ReadImage(int index, Span<byte> destination)
    {
        var file = _files[index];
        using var codec = SKCodec.Create(file) ?? throw new InvalidDataException($"{file}: not a readable PNG or JPEG image.");
        var info = new SKImageInfo(Width, Height, Channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (codec.Info.Width != Width || codec.Info.Height != Height)
            throw new InvalidDataException($"{file}: changed size since the data set was opened.");
        var pixels = new byte[info.BytesSize];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = pixels) result = codec.GetPixels(info, (IntPtr)p);
        }
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{file}: image data is corrupt or truncated ({result}); replace or remove the file.");
        var plane = Width * Height;
        if (Channels == 1) { pixels.AsSpan(0, plane).CopyTo(destination); return; }
        for (var i = 0; i < plane; i++)
        {
            destination[i] = pixels[4 * i];
            destination[plane + i] = pixels[4 * i + 1];
            destination[2 * plane + i] = pixels[4 * i + 2];
        }
    }

    private static SKImageInfo ReadHeader(string file)
    {
        using var codec = SKCodec.Create(file, out var result);
        if (codec is null)
            throw new InvalidDataException($"{file}: not a readable PNG or JPEG image ({result}); replace or remove the file.");
        return codec.Info;
    }
}
