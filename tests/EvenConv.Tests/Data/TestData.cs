using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace EvenConv.Tests.Data;

/// <summary>Writes small data sets in the real on-disk formats into a temporary directory that is deleted on dispose.</summary>
public sealed class TestData : IDisposable
{
    public TestData() => Directory.CreateDirectory(Root);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "evenconv-tests", Guid.NewGuid().ToString("N"));

    public string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    /// <summary>Deterministic pixel bytes for image i of size n.</summary>
    public static byte[] Pixels(int i, int n) => Enumerable.Range(0, n).Select(k => (byte)((k * 7 + i * 31) % 256)).ToArray();

    public static byte[] IdxImages(int count, int h, int w)
    {
        var bytes = new byte[16 + count * h * w];
        bytes[2] = 0x08; bytes[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), h);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), w);
        for (var i = 0; i < count; i++) Pixels(i, h * w).CopyTo(bytes, 16 + i * h * w);
        return bytes;
    }

    public static byte[] IdxLabels(params int[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        bytes[2] = 0x08; bytes[3] = 1;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        for (var i = 0; i < labels.Length; i++) bytes[8 + i] = (byte)labels[i];
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest)) gz.Write(data);
        return output.ToArray();
    }

    /// <summary>An MNIST-style directory with train (count) and t10k (count/2) files, gzipped or not; labels i % classes.</summary>
    public string WriteIdxSet(string name, int count = 8, int h = 6, int w = 5, bool gzip = true, int classes = 10)
    {
        var dir = PathOf(name);
        Directory.CreateDirectory(dir);
        foreach (var (prefix, n) in new[] { ("train", count), ("t10k", count / 2) })
        {
            var images = IdxImages(n, h, w);
            var labels = IdxLabels(Enumerable.Range(0, n).Select(i => i % classes).ToArray());
            var ext = gzip ? ".gz" : "";
            File.WriteAllBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte{ext}"), gzip ? Gzip(images) : images);
            File.WriteAllBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{ext}"), gzip ? Gzip(labels) : labels);
        }
        return dir;
    }

    /// <summary>CIFAR records: label byte(s) then 3072 pixel bytes.</summary>
    public static byte[] CifarRecords(int[] labels, bool cifar100)
    {
        var record = (cifar100 ? 2 : 1) + 3072;
        var bytes = new byte[labels.Length * record];
        for (var i = 0; i < labels.Length; i++)
        {
            if (cifar100) { bytes[i * record] = (byte)(labels[i] / 5); bytes[i * record + 1] = (byte)labels[i]; }
            else bytes[i * record] = (byte)labels[i];
            Pixels(i, 3072).CopyTo(bytes, i * record + (cifar100 ? 2 : 1));
        }
        return bytes;
    }

    public string WriteCifar10(int perBatch = 3)
    {
        var dir = PathOf("c10", "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        for (var b = 1; b <= 5; b++)
            File.WriteAllBytes(Path.Combine(dir, $"data_batch_{b}.bin"), CifarRecords(Enumerable.Range(0, perBatch).Select(i => (i + b) % 10).ToArray(), false));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), CifarRecords([9, 0], false));
        return dir;
    }

    public string WriteCifar100()
    {
        var dir = PathOf("c100", "cifar-100-binary");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "train.bin"), CifarRecords([0, 57, 99, 12], true));
        File.WriteAllBytes(Path.Combine(dir, "test.bin"), CifarRecords([3], true));
        return dir;
    }

    /// <summary>Encodes an RGB (or grey) image with a pattern that depends on <paramref name="seed"/>.</summary>
    public static byte[] EncodeImage(int w, int h, int seed, SKEncodedImageFormat format = SKEncodedImageFormat.Png, bool grey = false)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, grey ? SKColorType.Gray8 : SKColorType.Rgba8888, grey ? SKAlphaType.Opaque : SKAlphaType.Unpremul));
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 40 + seed), (byte)(y * 50 + seed * 3), (byte)(seed * 17 + x + y)));
        using var data = bitmap.Encode(format, 95);
        return data.ToArray();
    }

    public void WriteImage(string path, byte[] encoded)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, encoded);
    }
}
