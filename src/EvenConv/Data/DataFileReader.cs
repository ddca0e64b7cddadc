using System.IO.Compression;

namespace EvenConv.Data;

/// <summary>Reads whole data files into memory, transparently un-gzipping, and turns I/O failures into messages that name the file.</summary>
internal static class DataFileReader
{
    /// <summary>The file's bytes; gzip (detected by its magic bytes, not its name) is decompressed.</summary>
    public static byte[] ReadAllBytes(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found.", path);
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (IOException e) { throw new InvalidDataException($"{path}: cannot be read ({e.Message}).", e); }
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 4);
            gzip.CopyTo(output);
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new InvalidDataException($"{path}: the gzip stream is corrupt or truncated ({e.Message}); download the file again.", e);
        }
    }
}
