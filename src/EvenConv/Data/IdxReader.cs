using System.Buffers.Binary;

namespace EvenConv.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (plain or gzip): a 4-byte magic (0, 0, element type, number of
/// dimensions), big-endian 32-bit dimension sizes, then the elements. Only unsigned bytes (type 0x08) occur in these
/// data sets, so only they are accepted.
/// </summary>
public static class IdxReader
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an image file (dimensions N×H×W) into N·H·W bytes.</summary>
    public static (byte[] Pixels, int Count, int Height, int Width) ReadImages(string path)
    {
        var (dims, data) = Read(path, expectedDims: 3);
        return (data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads a label file (dimension N) and checks every label is below <paramref name="classCount"/>.</summary>
    public static int[] ReadLabels(string path, int classCount)
    {
        var (_, data) = Read(path, expectedDims: 1);
        var labels = new int[data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] >= classCount)
                throw new InvalidDataException($"{path}: label {data[i]} of item {i} is outside [0, {classCount}); the file is corrupt or belongs to another data set.");
            labels[i] = data[i];
        }
        return labels;
    }

    /// <summary>Opens an image file and its label file as one data set, checking that their counts agree.</summary>
    public static InMemoryImageDataset Open(string name, string imagesPath, string labelsPath, IReadOnlyList<string> classNames)
    {
        var (pixels, count, height, width) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath, classNames.Count);
        if (labels.Length != count)
            throw new InvalidDataException($"{labelsPath}: holds {labels.Length} labels but {imagesPath} holds {count} images; the two files do not belong together.");
        if (count == 0) throw new InvalidDataException($"{imagesPath}: holds no images.");
        return new InMemoryImageDataset(name, pixels, labels, 1, height, width, classNames);
    }

    private static (int[] Dims, byte[] Data) Read(string path, int expectedDims)
    {
        var bytes = DataFileReader.ReadAllBytes(path);
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
            throw new InvalidDataException($"{path}: not an IDX file (the magic number must start with two zero bytes); check the path.");
        if (bytes[2] != UnsignedByte)
            throw new InvalidDataException($"{path}: IDX element type 0x{bytes[2]:x2} is not unsigned byte (0x08), which MNIST-style data uses.");
        if (bytes[3] != expectedDims)
            throw new InvalidDataException($"{path}: has {bytes[3]} dimensions where {(expectedDims == 3 ? "an image file has 3 (N, H, W)" : "a label file has 1 (N)")}; images and labels may be swapped.");
        var header = 4 + 4 * expectedDims;
        if (bytes.Length < header) throw new InvalidDataException($"{path}: truncated inside the header ({bytes.Length} bytes); download it again.");
        var dims = new int[expectedDims];
        long expected = 1;
        for (var d = 0; d < expectedDims; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (dims[d] < 0 || (d > 0 && dims[d] == 0)) throw new InvalidDataException($"{path}: dimension {d} has impossible size {dims[d]}.");
            expected *= dims[d];
        }
        var actual = bytes.LongLength - header;
        if (actual < expected)
            throw new InvalidDataException($"{path}: truncated: the header promises {expected} bytes of data but only {actual} follow; download it again.");
        if (actual > expected)
            throw new InvalidDataException($"{path}: {actual - expected} unexpected bytes after the {expected} bytes the header describes; the file is corrupt.");
        return (dims, bytes[header..]);
    }
}
