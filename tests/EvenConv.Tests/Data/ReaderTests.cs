using EvenConv.Data;
using SkiaSharp;

namespace EvenConv.Tests.Data;

public class IdxReaderTests : IDisposable
{
    private readonly TestData _data = new();
    public void Dispose() => _data.Dispose();

    [Theory]
    [InlineData(true), InlineData(false)]
    public void Reads_images_and_labels_plain_or_gzip(bool gzip)
    {
        var dir = _data.WriteIdxSet("mnist", count: 8, gzip: gzip);
        var train = DataSets.Open(dir, DataSplit.Train);
        var test = DataSets.Open(dir, DataSplit.Test);
        Assert.Equal((8, 1, 6, 5), (train.Count, train.Channels, train.Height, train.Width));
        Assert.Equal(4, test.Count);
        Assert.Equal("mnist/train", train.Name);
        Assert.Equal(3, train.Label(3));
        var image = new byte[30];
        train.ReadImage(5, image);
        Assert.Equal(TestData.Pixels(5, 30), image);
    }

    [Fact]
    public void Wrong_magic_names_the_file()
    {
        var path = _data.PathOf("bad-idx");
        var bytes = TestData.IdxImages(2, 3, 3);
        bytes[0] = 0x1f; bytes[1] = 0x00;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void Wrong_dimension_count_says_images_and_labels_may_be_swapped()
    {
        var path = _data.PathOf("labels-as-images");
        File.WriteAllBytes(path, TestData.IdxLabels(1, 2));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("swapped", e.Message);
    }

    [Fact]
    public void Truncated_data_is_reported_with_sizes()
    {
        var path = _data.PathOf("short");
        var bytes = TestData.IdxImages(4, 3, 3);
        File.WriteAllBytes(path, bytes[..^5]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("36", e.Message);
    }

    [Fact]
    public void Truncated_gzip_is_reported()
    {
        var path = _data.PathOf("short.gz");
        var gz = TestData.Gzip(TestData.IdxImages(50, 8, 8));
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Label_out_of_range_names_item_and_range()
    {
        var path = _data.PathOf("labels");
        File.WriteAllBytes(path, TestData.IdxLabels(0, 3, 12));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path, 10));
        Assert.Contains("label 12 of item 2", e.Message);
    }

    [Fact]
    public void Image_and_label_counts_must_agree()
    {
        var dir = _data.WriteIdxSet("x", count: 6, gzip: false);
        File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), TestData.IdxLabels(1, 2, 3));
        var e = Assert.Throws<InvalidDataException>(() => DataSets.Open(dir, DataSplit.Train));
        Assert.Contains("3 labels", e.Message);
        Assert.Contains("6 images", e.Message);
    }

    [Fact]
    public void Missing_label_file_is_named()
    {
        var dir = _data.WriteIdxSet("x", gzip: true);
        File.Delete(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"));
        var e = Assert.Throws<FileNotFoundException>(() => DataSets.Open(dir, DataSplit.Test));
        Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
    }
}

public class CifarReaderTests : IDisposable
{
    private readonly TestData _data = new();
    public void Dispose() => _data.Dispose();

    [Fact]
    public void Reads_cifar10_batches_in_order()
    {
        var dir = _data.WriteCifar10(perBatch: 3);
        var train = DataSets.Open(Path.GetDirectoryName(dir)!, DataSplit.Train);
        Assert.Equal(("cifar10/train", 15, 3, 32, 32), (train.Name, train.Count, train.Channels, train.Height, train.Width));
        Assert.Equal(3, train.Label(4)); // batch 2, record 1: label (1 + 2) % 10
    }

    [Fact]
    public void Reads_cifar100_fine_labels()
    {
        var dir = _data.WriteCifar100();
        var train = DataSets.Open(dir, DataSplit.Train);
        Assert.Equal(4, train.Count);
        Assert.Equal([0, 57, 99, 12], Enumerable.Range(0, 4).Select(train.Label));
        Assert.Equal(100, train.ClassNames.Count);
        var image = new byte[3072];
        train.ReadImage(2, image);
        Assert.Equal(TestData.Pixels(2, 3072), image);
    }

    [Fact]
    public void Truncated_batch_is_reported()
    {
        var dir = _data.WriteCifar10();
        var file = Path.Combine(dir, "test_batch.bin");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..^100]);
        var e = Assert.Throws<InvalidDataException>(() => CifarReader.OpenCifar10(dir, DataSplit.Test));
        Assert.Contains(file, e.Message);
        Assert.Contains("3073-byte records", e.Message);
    }

    [Fact]
    public void Label_out_of_range_is_reported()
    {
        var dir = _data.WriteCifar10();
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), TestData.CifarRecords([1, 10], false));
        var e = Assert.Throws<InvalidDataException>(() => CifarReader.OpenCifar10(dir, DataSplit.Test));
        Assert.Contains("label 10 of record 1", e.Message);
    }

    [Fact]
    public void Missing_batch_is_named()
    {
        var dir = _data.WriteCifar10();
        File.Delete(Path.Combine(dir, "data_batch_4.bin"));
        var e = Assert.Throws<FileNotFoundException>(() => CifarReader.OpenCifar10(dir, DataSplit.Train));
        Assert.Contains("data_batch_4.bin", e.Message);
    }
}

public class ImageFolderTests : IDisposable
{
    private readonly TestData _data = new();
    public void Dispose() => _data.Dispose();

    private string WriteFolder()
    {
        _data.WriteImage(_data.PathOf("pets", "train", "cat", "a.png"), TestData.EncodeImage(4, 3, 1));
        _data.WriteImage(_data.PathOf("pets", "train", "cat", "b.png"), TestData.EncodeImage(4, 3, 2));
        _data.WriteImage(_data.PathOf("pets", "train", "dog", "c.png"), TestData.EncodeImage(4, 3, 3));
        _data.WriteImage(_data.PathOf("pets", "val", "dog", "d.jpg"), TestData.EncodeImage(4, 3, 4, SKEncodedImageFormat.Jpeg));
        return _data.PathOf("pets");
    }

    [Fact]
    public void Reads_classes_from_sub_folders_and_decodes_exact_png_pixels()
    {
        var train = DataSets.Open(WriteFolder(), DataSplit.Train);
        Assert.Equal(("pets/train", 3, 3, 3, 4), (train.Name, train.Count, train.Channels, train.Height, train.Width));
        Assert.Equal(["cat", "dog"], train.ClassNames);
        Assert.Equal([0, 0, 1], Enumerable.Range(0, 3).Select(train.Label));
        var image = new byte[3 * 12];
        train.ReadImage(2, image);
        // seed 3, pixel (x=2, y=1): R = 2·40+3, G = 1·50+9, B = 51+3
        var plane = 12; var i = 1 * 4 + 2;
        Assert.Equal((83, 59, 54), (image[i], image[plane + i], image[2 * plane + i]));
    }

    [Fact]
    public void Val_folder_serves_the_test_split_and_jpeg_decodes()
    {
        var test = DataSets.Open(WriteFolder(), DataSplit.Test);
        Assert.Equal(1, test.Count);
        Assert.Equal(["dog"], test.ClassNames);
        var image = new byte[36];
        test.ReadImage(0, image);
        Assert.InRange(image[0], 4 - 12, 4 + 12); // JPEG is lossy: R of (0,0) ≈ seed 4
    }

    [Fact]
    public void Grey_images_give_one_channel()
    {
        _data.WriteImage(_data.PathOf("g", "a", "1.png"), TestData.EncodeImage(3, 3, 1, grey: true));
        var set = DataSets.Open(_data.PathOf("g"), DataSplit.Train);
        Assert.Equal(1, set.Channels);
    }

    [Fact]
    public void Empty_folder_is_reported()
    {
        Directory.CreateDirectory(_data.PathOf("empty", "cat"));
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_data.PathOf("empty"), "empty"));
        Assert.Contains("no PNG or JPEG images", e.Message);
        Directory.CreateDirectory(_data.PathOf("none"));
        e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_data.PathOf("none"), "none"));
        Assert.Contains("no class sub-folders", e.Message);
    }

    [Fact]
    public void Mismatched_sizes_name_both_files()
    {
        _data.WriteImage(_data.PathOf("m", "a", "1.png"), TestData.EncodeImage(4, 4, 1));
        _data.WriteImage(_data.PathOf("m", "b", "2.png"), TestData.EncodeImage(5, 4, 1));
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_data.PathOf("m"), "m"));
        Assert.Contains("2.png", e.Message);
        Assert.Contains("1.png", e.Message);
        Assert.Contains("5×4", e.Message);
    }

    [Fact]
    public void Corrupt_image_is_reported_at_open()
    {
        _data.WriteImage(_data.PathOf("c", "a", "1.png"), TestData.EncodeImage(4, 4, 1));
        _data.WriteImage(_data.PathOf("c", "a", "2.png"), [0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]);
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_data.PathOf("c"), "c"));
        Assert.Contains("2.png", e.Message);
    }

    [Fact]
    public void Truncated_image_is_reported_when_decoded()
    {
        var png = TestData.EncodeImage(16, 16, 1);
        _data.WriteImage(_data.PathOf("t", "a", "1.png"), png);
        _data.WriteImage(_data.PathOf("t", "a", "2.png"), png[..(png.Length * 2 / 3)]);
        var set = ImageFolderDataset.Open(_data.PathOf("t"), "t");
        var e = Assert.Throws<InvalidDataException>(() => set.ReadImage(1, new byte[3 * 256]));
        Assert.Contains("2.png", e.Message);
    }
}

public class DataSetsTests : IDisposable
{
    private readonly TestData _data = new();
    public void Dispose() => _data.Dispose();

    [Fact]
    public void Known_name_is_found_under_the_data_directory()
    {
        _data.WriteIdxSet("mnist", count: 4);
        var set = DataSets.Open("mnist", DataSplit.Train, _data.Root);
        Assert.Equal("mnist/train", set.Name);
        Assert.Equal(10, set.ClassNames.Count);
    }

    [Fact]
    public void Missing_known_data_set_says_how_to_get_it()
    {
        var e = Assert.Throws<EvenConvException>(() => DataSets.Open("cifar100", DataSplit.Train, _data.Root));
        Assert.Contains("evenconv data download cifar100", e.Message);
    }

    [Fact]
    public void Unknown_name_is_an_argument_error()
    {
        var e = Assert.Throws<ArgumentException>(() => DataSets.Open("imagenet-21k", DataSplit.Train));
        Assert.Contains("fashion-mnist", e.Message);
    }

    [Fact]
    public void Computed_normalisation_matches_a_double_loop()
    {
        var dir = _data.WriteIdxSet("plain", count: 6, gzip: false);
        var set = DataSets.Open(dir, DataSplit.Train);
        var stats = ChannelNormalization.For(set);
        var all = Enumerable.Range(0, 6).SelectMany(i => TestData.Pixels(i, 30)).Select(b => (double)b).ToArray();
        var mean = all.Average();
        var std = Math.Sqrt(all.Select(v => (v - mean) * (v - mean)).Average());
        Assert.Equal(mean, stats.Mean[0], 3);
        Assert.Equal(std, stats.Std[0], 3);
    }

    [SkippableFact]
    public void Fashion_mnist_constants_match_the_installed_data_when_present()
    {
        Skip.IfNot(Directory.Exists(Path.Combine(DataSets.SystemDirectory, "fashion-mnist")), "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var train = DataSets.Open("fashion-mnist", DataSplit.Train);
        Assert.Equal((60000, 1, 28, 28), (train.Count, train.Channels, train.Height, train.Width));
        var computed = ChannelNormalization.Compute(train, maxImages: 60000);
        Assert.Equal(ChannelNormalization.FashionMnist.Mean[0], computed.Mean[0], 2);
        Assert.Equal(ChannelNormalization.FashionMnist.Std[0], computed.Std[0], 2);
    }
}
