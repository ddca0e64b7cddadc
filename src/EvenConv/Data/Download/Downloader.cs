using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace EvenConv.Data.Download;

/// <summary>Progress of one file: bytes on disk so far, and the total when the server says it.</summary>
public readonly record struct DownloadProgress(string FileName, long Bytes, long? TotalBytes);

/// <summary>
/// Fetches data set files into DIR/NAME. A partial download is kept as FILE.part and continued with an HTTP Range
/// request next time; a complete file is checked against the publisher's checksum before it is renamed into place
/// and (for archives) unpacked safely. Files already present and verified are not fetched again.
/// </summary>
public sealed class Downloader(HttpClient http)
{
    /// <summary>Called as bytes arrive (from the downloading thread).</summary>
    public Action<DownloadProgress>? Progress { get; init; }

    /// <summary>Downloads (and unpacks) <paramref name="source"/> into <paramref name="directory"/>/NAME; returns that folder.</summary>
    public async Task<string> DownloadAsync(DataSetSource source, string directory, CancellationToken cancellation = default)
    {
        var target = Path.Combine(Path.GetFullPath(directory), source.Name);
        Directory.CreateDirectory(target);
        foreach (var file in source.Files)
        {
            var path = Path.Combine(target, file.FileName);
            var marker = path + ".extracted";
            if (!File.Exists(path) || !Matches(path, file.Checksum))
                await FetchAsync(file, path, cancellation).ConfigureAwait(false);
            if (file.Extract && !File.Exists(marker))
            {
                TarGzExtractor.Extract(path, target);
                await File.WriteAllTextAsync(marker, DateTime.UtcNow.ToString("O"), cancellation).ConfigureAwait(false);
            }
        }
        return target;
    }

    private async Task FetchAsync(RemoteFile file, string path, CancellationToken cancellation)
    {
        var part = path + ".part";
        var have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, file.Url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try { response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false); }
        catch (HttpRequestException e) { throw new EvenConvException($"{file.Url}: cannot connect ({e.Message}); check the network, or copy the files into {Path.GetDirectoryName(path)} by hand.", e); }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
            {
                // The part file is already complete (or longer than the file): verify it as it is.
            }
            else
            {
                if (!response.IsSuccessStatusCode)
                    throw new EvenConvException($"{file.Url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}; the data set may have moved, try again later or fetch it by hand.");
                var append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
                if (!append) have = 0; // the server ignored the range: start over
                long? total = response.Content.Headers.ContentLength is { } length ? length + have : null;
                await using var output = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                await using var input = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
                var buffer = new byte[1 << 16];
                try
                {
                    int read;
                    while ((read = await input.ReadAsync(buffer, cancellation).ConfigureAwait(false)) > 0)
                    {
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellation).ConfigureAwait(false);
                        have += read;
                        Progress?.Invoke(new DownloadProgress(file.FileName, have, total));
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw new EvenConvException($"{file.Url}: the download broke off after {have} bytes{(total is { } t ? $" of {t}" : "")} ({e.Message}); run the command again to continue it.", e);
                }
                if (total is { } expected && have < expected)
                    throw new EvenConvException($"{file.Url}: the download broke off after {have} of {expected} bytes; run the command again to continue it.");
            }
        }
        if (!Matches(part, file.Checksum, out var actual))
        {
            File.Delete(part);
            throw new EvenConvException($"{file.FileName}: checksum mismatch (expected {file.Checksum}, got {actual}); the download was corrupted and has been deleted, run the command again.");
        }
        File.Move(part, path, overwrite: true);
    }

    private static bool Matches(string path, string checksum) => Matches(path, checksum, out _);

    /// <summary>Whether the file's digest equals <paramref name="checksum"/> ("md5:hex" or "sha256:hex").</summary>
    public static bool Matches(string path, string checksum, out string actual)
    {
        var colon = checksum.IndexOf(':', StringComparison.Ordinal);
        var (algorithm, expected) = (checksum[..colon], checksum[(colon + 1)..]);
        using var stream = File.OpenRead(path);
        var digest = algorithm switch
        {
#pragma warning disable CA5351 // MD5 is what the publishers give; it checks integrity, not authenticity.
            "md5" => MD5.HashData(stream),
#pragma warning restore CA5351
            "sha256" => SHA256.HashData(stream),
            _ => throw new ArgumentException($"checksum '{checksum}' is neither md5: nor sha256:."),
        };
        actual = $"{algorithm}:{Convert.ToHexStringLower(digest)}";
        return string.Equals(actual, $"{algorithm}:{expected}", StringComparison.OrdinalIgnoreCase);
    }
}
