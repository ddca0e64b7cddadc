namespace EvenConv.Data;

/// <summary>
/// The CIFAR-10 and CIFAR-100 binary versions ("cifar-10-batches-bin", "cifar-100-binary"): fixed-size records of
/// label byte(s) followed by 3×32×32 channel-major pixels. CIFAR-10 records have one label; CIFAR-100 records have a
/// coarse then a fine label, and EvenConv uses the fine one (100 classes), as the paper does.
/// </summary>
public static class CifarReader
{
    private const int ImageBytes = 3 * 32 * 32;

    /// <summary>CIFAR-10 from a "cifar-10-batches-bin" directory: data_batch_1..5.bin for training, test_batch.bin for test.</summary>
    public static InMemoryImageDataset OpenCifar10(string directory, DataSplit split, string name = "cifar10")
    {
        var files = split == DataSplit.Train
            ? Enumerable.Range(1, 5).Select(i => Path.Combine(directory, $"data_batch_{i}.bin")).ToArray()
            : [Path.Combine(directory, "test_batch.bin")];
        var classes = ReadClassNames(Path.Combine(directory, "batches.meta.txt"), 10, Cifar10ClassNames);
        return Read($"{name}/{Split(split)}", files, labelBytes: 1, classes);
    }

    /// <summary>CIFAR-100 from a "cifar-100-binary" directory: train.bin and test.bin, fine labels.</summary>
    public static InMemoryImageDataset OpenCifar100(string directory, DataSplit split, string name = "cifar100")
    {
        var file = Path.Combine(directory, split == DataSplit.Train ? "train.bin" : "test.bin");
        var classes = ReadClassNames(Path.Combine(directory, "fine_label_names.txt"), 100,
            Enumerable.Range(0, 100).Select(i => i.ToString()).ToArray());
        return Read($"{name}/{Split(split)}", [file], labelBytes: 2, classes);
    }

    /// <summary>The CIFAR-10 class names, in label order.</summary>
    public static readonly IReadOnlyList<string> Cifar10ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    private static string Split(DataSplit split) => split == DataSplit.Train ? "train" : "test";

    private static InMemoryImageDataset Read(string name, string[] files, int labelBytes, IReadOnlyList<string> classes)
    {
        var record = labelBytes + ImageBytes;
        var contents = files.Select(f =>
        {
            var bytes = DataFileReader.ReadAllBytes(f);
            if (bytes.Length == 0) throw new InvalidDataException($"{f}: the file is empty; download the data set again.");
            if (bytes.Length % record != 0)
                throw new InvalidDataException($"{f}: {bytes.Length} bytes is not a whole number of {record}-byte records " +
                    $"({(labelBytes == 1 ? "CIFAR-10" : "CIFAR-100")} format); the file is truncated or of the other CIFAR variant.");
            return (File: f, Bytes: bytes);
        }).ToArray();
        var count = contents.Sum(c => c.Bytes.Length / record);
        var pixels = new byte[(long)count * ImageBytes];
        var labels = new int[count];
        var n = 0;
        foreach (var (file, bytes) in contents)
        {
            for (var offset = 0; offset < bytes.Length; offset += record, n++)
            {
                if (labelBytes == 2 && bytes[offset] >= 20)
                    throw new InvalidDataException($"{file}: coarse label {bytes[offset]} of record {offset / record} is outside [0, 20); the file is corrupt.");
                var label = bytes[offset + labelBytes - 1];
                if (label >= classes.Count)
                    throw new InvalidDataException($"{file}: label {label} of record {offset / record} is outside [0, {classes.Count}); the file is corrupt or of the other CIFAR variant.");
                labels[n] = label;
                bytes.AsSpan(offset + labelBytes, ImageBytes).CopyTo(pixels.AsSpan(n * ImageBytes));
            }
        }
        return new InMemoryImageDataset(name, pixels, labels, 3, 32, 32, classes);
    }

    /// <summary>Class names from the data set's text file when present (one per line), else the given defaults.</summary>
    private static IReadOnlyList<string> ReadClassNames(string path, int count, IReadOnlyList<string> defaults)
    {
        if (!File.Exists(path)) return defaults;
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != count)
            throw new InvalidDataException($"{path}: lists {names.Length} class names where {count} are expected; the file is corrupt.");
        return names;
    }
}
