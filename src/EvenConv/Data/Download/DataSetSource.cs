namespace EvenConv.Data.Download;

/// <summary>One published file: where it lives, its checksum ("md5:…" or "sha256:…", as the publisher gives it) and
/// whether it is a .tar.gz archive to unpack.</summary>
public sealed record RemoteFile(Uri Url, string FileName, string Checksum, bool Extract);

/// <summary>A downloadable data set: its files, fetched into DIR/Name.</summary>
public sealed record DataSetSource(string Name, IReadOnlyList<RemoteFile> Files)
{
    private static RemoteFile Idx(string baseUrl, string file, string md5) => new(new Uri(baseUrl + file), file, "md5:" + md5, Extract: false);

    /// <summary>The canonical sources with the publishers' (and torchvision's) checksums.</summary>
    public static IReadOnlyList<DataSetSource> Catalog { get; } =
    [
        new("fashion-mnist",
        [
            Idx("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            Idx("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            Idx("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
            Idx("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
        ]),
        // yann.lecun.com refuses automated downloads; this is the mirror torchvision uses, same files.
        new("mnist",
        [
            Idx("https://ossci-datasets.s3.amazonaws.com/mnist/", "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            Idx("https://ossci-datasets.s3.amazonaws.com/mnist/", "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            Idx("https://ossci-datasets.s3.amazonaws.com/mnist/", "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            Idx("https://ossci-datasets.s3.amazonaws.com/mnist/", "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ]),
        new("cifar10", [new(new Uri("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"), "cifar-10-binary.tar.gz", "md5:c32a1d4ab5d03f1284b67883e8d87530", Extract: true)]),
        new("cifar100", [new(new Uri("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"), "cifar-100-binary.tar.gz", "md5:03b5dce01913d631647c71ecec9e9cb8", Extract: true)]),
    ];

    /// <summary>The catalog entry for <paramref name="name"/>, or an error listing the names.</summary>
    public static DataSetSource Find(string name) =>
        Catalog.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"no download is known for '{name}'; choose one of {string.Join(", ", Catalog.Select(s => s.Name))}, or pass an image folder with --data PATH.");
}
