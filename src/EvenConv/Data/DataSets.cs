namespace EvenConv.Data;

/// <summary>
/// Opens data sets by name or path. Names: "fashion-mnist" (Debian's dataset-fashion-mnist package by default),
/// "mnist", "cifar10", "cifar100", each looked up in the given data directory, then $EVENCONV_DATA, then the user data
/// directory that `evenconv data download` fills, then /usr/share/datasets. A path is a directory in any of the
/// supported formats: IDX files, CIFAR binary batches, or an image folder (one sub-folder per class, optionally under
/// train/ and test/ or val/).
/// </summary>
public static class DataSets
{
    /// <summary>The environment variable naming a directory that holds data sets, one sub-folder per name.</summary>
    public const string DataDirectoryVariable = "EVENCONV_DATA";

    /// <summary>The data set names <see cref="Open(string, DataSplit)"/> knows, and where each can be downloaded from.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = ["fashion-mnist", "mnist", "cifar10", "cifar100"];

    /// <summary>Where `evenconv data download` puts data sets unless told otherwise: $EVENCONV_DATA, else ~/.local/share/evenconv/datasets.</summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable(DataDirectoryVariable) is { Length: > 0 } env
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "evenconv", "datasets");

    /// <summary>The system-wide location of packaged data sets (Debian's dataset-* packages).</summary>
    public const string SystemDirectory = "/usr/share/datasets";

    /// <summary>Opens a data set by name ("fashion-mnist", "mnist", "cifar10", "cifar100") or directory path.</summary>
    public static IImageDataset Open(string nameOrPath, DataSplit split) => Open(nameOrPath, split, dataDirectory: null);

    /// <summary>As <see cref="Open(string, DataSplit)"/>, looking for named data sets first in <paramref name="dataDirectory"/>
    /// (either the data set's own folder or a folder holding one sub-folder per name).</summary>
    public static IImageDataset Open(string nameOrPath, DataSplit split, string? dataDirectory)
    {
        var known = KnownNames.FirstOrDefault(n => string.Equals(n, nameOrPath, StringComparison.OrdinalIgnoreCase));
        if (known is not null) return OpenKnown(known, split, dataDirectory);
        if (Directory.Exists(nameOrPath)) return OpenDirectory(nameOrPath, split);
        if (File.Exists(nameOrPath))
            throw new ArgumentException($"--data {nameOrPath}: is a file; give the directory that holds the data set's files.");
        throw new ArgumentException($"--data {nameOrPath}: is neither a known data set ({string.Join(", ", KnownNames)}) nor an existing directory.");
    }

    /// <summary>How to get a named data set that is missing.</summary>
    public static string HowToGet(string name) =>
        (name == "fashion-mnist" ? "install it with `sudo apt-get install dataset-fashion-mnist`, or " : "") +
        $"download it with `evenconv data download {name}` (into {DefaultDirectory}), or pass --data-dir DIR / set {DataDirectoryVariable}=DIR where DIR/{name} holds it";

    private static IImageDataset OpenKnown(string name, DataSplit split, string? dataDirectory)
    {
        var candidates = new List<string>();
        if (dataDirectory is not null) candidates.AddRange([Path.Combine(dataDirectory, name), dataDirectory]);
        if (Environment.GetEnvironmentVariable(DataDirectoryVariable) is { Length: > 0 } env) candidates.Add(Path.Combine(env, name));
        candidates.Add(Path.Combine(DefaultDirectory, name));
        candidates.Add(Path.Combine(SystemDirectory, name));
        foreach (var dir in candidates.Distinct())
        {
            if (!Directory.Exists(dir)) continue;
            var format = DataFormats.Detect(dir);
            if (format is not null && format.Value.Kind == ExpectedKind(name)) return Open(format.Value, split, name);
        }
        throw new EvenConvException($"data set '{name}' not found (looked in {string.Join(", ", candidates.Distinct())}); {HowToGet(name)}.");
    }

    private static DataFormatKind ExpectedKind(string name) => name switch
    {
        "cifar10" => DataFormatKind.Cifar10,
        "cifar100" => DataFormatKind.Cifar100,
        _ => DataFormatKind.Idx,
    };

    private static IImageDataset OpenDirectory(string path, DataSplit split)
    {
        var format = DataFormats.Detect(path) ?? throw new InvalidDataException($"{path}: not a data set directory (no IDX files, CIFAR batches or class sub-folders).");
        var baseName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
        var name = format.Kind switch
        {
            DataFormatKind.Cifar10 => "cifar10",
            DataFormatKind.Cifar100 => "cifar100",
            _ => baseName,
        };
        return Open(format, split, name);
    }

    private static IImageDataset Open(DataFormat format, DataSplit split, string name)
    {
        var splitName = split == DataSplit.Train ? "train" : "test";
        switch (format.Kind)
        {
            case DataFormatKind.Cifar10: return CifarReader.OpenCifar10(format.Directory, split, name);
            case DataFormatKind.Cifar100: return CifarReader.OpenCifar100(format.Directory, split, name);
            case DataFormatKind.Idx:
            {
                var prefix = split == DataSplit.Train ? "train" : "t10k";
                var images = DataFormats.FindIdx(format.Directory, prefix, "images-idx3-ubyte");
                var labels = DataFormats.FindIdx(format.Directory, prefix, "labels-idx1-ubyte");
                return IdxReader.Open($"{name}/{splitName}", images, labels, IdxClassNames(name, format.Directory));
            }
            default:
            {
                var dir = split == DataSplit.Train ? format.TrainDirectory : format.TestDirectory;
                if (dir is null)
                    throw new InvalidDataException($"{format.Directory}: has a train/ folder but no test/ or val/ folder for the test split; add one.");
                return ImageFolderDataset.Open(dir, $"{name}/{splitName}");
            }
        }
    }

    private static IReadOnlyList<string> IdxClassNames(string name, string directory)
    {
        if (name == "fashion-mnist") return FashionMnistClassNames;
        if (name == "mnist") return Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray();
        // An unnamed MNIST-style set: as many classes as the largest training label says.
        var labels = IdxReader.ReadLabels(DataFormats.FindIdx(directory, "train", "labels-idx1-ubyte"), 256);
        return Enumerable.Range(0, labels.Length == 0 ? 1 : labels.Max() + 1).Select(i => i.ToString()).ToArray();
    }

    /// <summary>The Fashion-MNIST class names, in label order.</summary>
    public static readonly IReadOnlyList<string> FashionMnistClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
}
