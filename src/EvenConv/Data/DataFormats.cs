namespace EvenConv.Data;

/// <summary>The on-disk formats EvenConv reads.</summary>
internal enum DataFormatKind { Idx, Cifar10, Cifar100, ImageFolder }

/// <summary>A detected data set directory; for image folders, where the train and test images are.</summary>
internal readonly record struct DataFormat(DataFormatKind Kind, string Directory, string? TrainDirectory = null, string? TestDirectory = null);

/// <summary>Recognises a data set directory by the files in it.</summary>
internal static class DataFormats
{
    public static DataFormat? Detect(string dir)
    {
        if (Has(dir, "train-images-idx3-ubyte") || Has(dir, "t10k-images-idx3-ubyte") || Has(dir, "train-images.idx3-ubyte"))
            return new(DataFormatKind.Idx, dir);
        if (File.Exists(Path.Combine(dir, "data_batch_1.bin")) || File.Exists(Path.Combine(dir, "test_batch.bin")))
            return new(DataFormatKind.Cifar10, dir);
        if (Directory.Exists(Path.Combine(dir, "cifar-10-batches-bin"))) return new(DataFormatKind.Cifar10, Path.Combine(dir, "cifar-10-batches-bin"));
        if (File.Exists(Path.Combine(dir, "train.bin")) || File.Exists(Path.Combine(dir, "test.bin")))
            return new(DataFormatKind.Cifar100, dir);
        if (Directory.Exists(Path.Combine(dir, "cifar-100-binary"))) return new(DataFormatKind.Cifar100, Path.Combine(dir, "cifar-100-binary"));
        if (Directory.GetDirectories(dir).Length == 0) return null;
        var train = Path.Combine(dir, "train");
        if (Directory.Exists(train))
        {
            var test = new[] { "test", "val" }.Select(t => Path.Combine(dir, t)).FirstOrDefault(Directory.Exists);
            return new(DataFormatKind.ImageFolder, dir, train, test);
        }
        // A folder of class folders serves whichever split it is opened for: the user named it directly.
        return new(DataFormatKind.ImageFolder, dir, dir, dir);
    }

    /// <summary>The IDX file "{prefix}-{kind}" in any of its published spellings (".gz" or not, '-' or '.' before "idx").</summary>
    public static string FindIdx(string dir, string prefix, string kind)
    {
        var dotted = kind.Replace("-idx", ".idx", StringComparison.Ordinal);
        foreach (var file in new[] { $"{prefix}-{kind}", $"{prefix}-{dotted}" })
            foreach (var candidate in new[] { file + ".gz", file })
                if (File.Exists(Path.Combine(dir, candidate))) return Path.Combine(dir, candidate);
        throw new FileNotFoundException($"{dir}: {prefix}-{kind}(.gz) is missing; the data set is incomplete, download it again.");
    }

    private static bool Has(string dir, string file) => File.Exists(Path.Combine(dir, file)) || File.Exists(Path.Combine(dir, file + ".gz"));
}
