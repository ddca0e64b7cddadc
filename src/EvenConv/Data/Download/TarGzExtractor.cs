using System.Formats.Tar;
using System.IO.Compression;

namespace EvenConv.Data.Download;

/// <summary>
/// Unpacks a .tar.gz without trusting it: every entry must land inside the target directory (no absolute paths, no
/// "..", no writing through links), links may only point inside it, and only directories, regular files and such
/// links are accepted (no devices or FIFOs).
/// </summary>
public static class TarGzExtractor
{
    public static void Extract(string archive, string directory)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        try
        {
            using var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress);
            using var reader = new TarReader(gzip);
            while (reader.GetNextEntry() is { } entry)
            {
                var destination = Inside(root, entry.Name, archive, entry.Name);
                RefuseLinkedParents(root, destination, archive, entry.Name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(destination);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                        entry.ExtractToFile(destination, overwrite: true);
                        break;
                    case TarEntryType.SymbolicLink:
                        var linkTarget = Inside(root, Path.Combine(Path.GetDirectoryName(destination)!, entry.LinkName), archive, entry.Name);
                        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                        if (File.Exists(destination) || Directory.Exists(destination)) File.Delete(destination);
                        File.CreateSymbolicLink(destination, Path.GetRelativePath(Path.GetDirectoryName(destination)!, linkTarget));
                        break;
                    case TarEntryType.HardLink:
                        var source = Inside(root, entry.LinkName, archive, entry.Name);
                        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                        File.Copy(source, destination, overwrite: true);
                        break;
                    case TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes:
                        break;
                    default:
                        throw new InvalidDataException($"{archive}: entry '{entry.Name}' is a {entry.EntryType}, which a data set archive should not contain; refusing to unpack it.");
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException || (e is InvalidDataException && !e.Message.StartsWith(archive, StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"{archive}: the archive is corrupt or truncated ({e.Message}); delete it and download again.", e);
        }
    }

    /// <summary>The full path of <paramref name="relative"/> under <paramref name="root"/>, or an error if it escapes.</summary>
    private static string Inside(string root, string relative, string archive, string entry)
    {
        var full = Path.GetFullPath(Path.IsPathRooted(relative) ? relative : Path.Combine(root, relative));
        if (!full.StartsWith(root, StringComparison.Ordinal) && full + Path.DirectorySeparatorChar != root)
            throw new InvalidDataException($"{archive}: entry '{entry}' points outside {root} ({relative}); refusing to unpack a possibly malicious archive.");
        return full;
    }

    /// <summary>Refuses to write through a symbolic link created earlier (it could lead anywhere once replaced).</summary>
    private static void RefuseLinkedParents(string root, string destination, string archive, string entry)
    {
        for (var dir = Path.GetDirectoryName(destination); dir is not null && dir.Length >= root.Length; dir = Path.GetDirectoryName(dir))
            if (new DirectoryInfo(dir) is { Exists: true, LinkTarget: not null })
                throw new InvalidDataException($"{archive}: entry '{entry}' would be written through the link {dir}; refusing to unpack it.");
    }
}
