using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using EvenConv.Data;
using EvenConv.Data.Download;

namespace EvenConv.Tests.Data;

/// <summary>Serves byte arrays on 127.0.0.1: whole, honouring "Range: bytes=N-", or cut off halfway.</summary>
internal sealed class LocalServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files = [];
    private readonly Task _loop;

    public LocalServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public int Port { get; }
    public HashSet<string> CutOff { get; } = [];
    public List<string?> RangesSeen { get; } = [];

    public Uri Add(string name, byte[] content)
    {
        _files[name] = content;
        return new Uri($"http://127.0.0.1:{Port}/{name}");
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            var name = context.Request.Url!.AbsolutePath.TrimStart('/');
            var response = context.Response;
            if (!_files.TryGetValue(name, out var content)) { response.StatusCode = 404; response.Close(); continue; }
            var range = context.Request.Headers["Range"];
            lock (RangesSeen) RangesSeen.Add(range);
            var start = range is { } r && r.StartsWith("bytes=", StringComparison.Ordinal) ? long.Parse(r[6..].TrimEnd('-')) : 0;
            if (start > 0)
            {
                response.StatusCode = 206;
                response.AddHeader("Content-Range", $"bytes {start}-{content.Length - 1}/{content.Length}");
            }
            var body = content.AsMemory((int)start);
            response.ContentLength64 = body.Length;
            try
            {
                if (CutOff.Contains(name))
                {
                    await response.OutputStream.WriteAsync(body[..(body.Length / 2)]);
                    await response.OutputStream.FlushAsync();
                    response.Abort();
                    continue;
                }
                await response.OutputStream.WriteAsync(body);
                response.Close();
            }
            catch (HttpListenerException) { }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(2000); } catch (AggregateException) { }
    }
}

public sealed class DownloadTests : IDisposable
{
    private readonly TestData _data = new();
    private readonly LocalServer _server = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };
    public void Dispose() { _http.Dispose(); _server.Dispose(); _data.Dispose(); }

#pragma warning disable CA5351 // the publishers give MD5 checksums
    private static string Md5(byte[] bytes) => "md5:" + Convert.ToHexStringLower(MD5.HashData(bytes));
#pragma warning restore CA5351
    private static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A .tar.gz built from (name, content or null for a directory, link target or null).</summary>
    private static byte[] TarGz(params (string Name, byte[]? Content, string? Link)[] entries)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, content, link) in entries)
            {
                var type = link is not null ? TarEntryType.SymbolicLink : content is null ? TarEntryType.Directory : TarEntryType.RegularFile;
                var entry = new PaxTarEntry(type, name);
                if (link is not null) entry.LinkName = link;
                if (content is not null) entry.DataStream = new MemoryStream(content);
                tar.WriteEntry(entry);
            }
        }
        return output.ToArray();
    }

    [Fact]
    public async Task Downloads_verifies_and_unpacks_a_cifar_archive_that_then_opens()
    {
        var records = TestData.CifarRecords([1, 2, 3], cifar100: false);
        var archive = TarGz(
            [("cifar-10-batches-bin", null, null), .. Enumerable.Range(1, 5).Select(i => ($"cifar-10-batches-bin/data_batch_{i}.bin", (byte[]?)records, (string?)null)),
             ("cifar-10-batches-bin/test_batch.bin", records, null)]);
        var source = new DataSetSource("cifar10", [new RemoteFile(_server.Add("c10.tar.gz", archive), "c10.tar.gz", Sha256(archive), Extract: true)]);
        var progress = new List<DownloadProgress>();
        var dir = await new Downloader(_http) { Progress = progress.Add }.DownloadAsync(source, _data.Root);
        Assert.Equal(_data.PathOf("cifar10"), dir);
        Assert.Equal(archive.Length, progress[^1].Bytes);
        var train = DataSets.Open("cifar10", DataSplit.Train, _data.Root);
        Assert.Equal(15, train.Count);
        // Second run: nothing is fetched again.
        var requests = _server.RangesSeen.Count;
        await new Downloader(_http).DownloadAsync(source, _data.Root);
        Assert.Equal(requests, _server.RangesSeen.Count);
    }

    [Fact]
    public async Task A_corrupt_download_fails_the_checksum_and_is_deleted()
    {
        var good = TestData.Gzip(TestData.IdxLabels(1, 2, 3));
        var corrupt = (byte[])good.Clone();
        corrupt[^3] ^= 0xff;
        var source = new DataSetSource("x", [new RemoteFile(_server.Add("labels.gz", corrupt), "labels.gz", Md5(good), Extract: false)]);
        var e = await Assert.ThrowsAsync<EvenConvException>(() => new Downloader(_http).DownloadAsync(source, _data.Root));
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Empty(Directory.GetFiles(_data.PathOf("x")));
    }

    [Fact]
    public async Task A_broken_off_download_is_continued_with_a_range_request()
    {
        var content = RandomNumberGenerator.GetBytes(200_000);
        var url = _server.Add("big.bin", content);
        var source = new DataSetSource("y", [new RemoteFile(url, "big.bin", Sha256(content), Extract: false)]);
        _server.CutOff.Add("big.bin");
        var e = await Assert.ThrowsAsync<EvenConvException>(() => new Downloader(_http).DownloadAsync(source, _data.Root));
        Assert.Contains("run the command again", e.Message);
        var part = new FileInfo(_data.PathOf("y", "big.bin.part"));
        Assert.True(part.Exists && part.Length > 0 && part.Length < content.Length);
        _server.CutOff.Clear();
        await new Downloader(_http).DownloadAsync(source, _data.Root);
        Assert.Equal(content, await File.ReadAllBytesAsync(_data.PathOf("y", "big.bin")));
        Assert.Equal($"bytes={part.Length}-", _server.RangesSeen[^1]);
    }

    [Fact]
    public void Archive_entries_that_escape_the_directory_are_refused()
    {
        var target = _data.PathOf("unpack");
        foreach (var (archive, what) in new[]
        {
            (TarGz(("../escaped.txt", [1], null)), "parent path"),
            (TarGz(("/tmp/evenconv-absolute.txt", [1], null)), "absolute path"),
            (TarGz(("link", null, "/etc")), "link out"),
            (TarGz(("inner", null, null), ("inner/up", null, "../..")), "relative link out"),
        })
        {
            var path = _data.PathOf("evil.tar.gz");
            File.WriteAllBytes(path, archive);
            var e = Assert.Throws<InvalidDataException>(() => TarGzExtractor.Extract(path, target));
            Assert.Contains("refusing", e.Message);
            Assert.False(File.Exists(_data.PathOf("escaped.txt")), what);
        }
        Assert.False(File.Exists("/tmp/evenconv-absolute.txt"));
    }

    [Fact]
    public void A_truncated_archive_is_reported_as_corrupt()
    {
        var archive = TarGz(("a.bin", RandomNumberGenerator.GetBytes(50_000), null));
        var path = _data.PathOf("cut.tar.gz");
        File.WriteAllBytes(path, archive[..(archive.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => TarGzExtractor.Extract(path, _data.PathOf("cut")));
        Assert.Contains("corrupt or truncated", e.Message);
    }

    [Fact]
    public void The_catalog_names_every_known_data_set()
    {
        Assert.Equal(DataSets.KnownNames.Order(), DataSetSource.Catalog.Select(s => s.Name).Order());
        Assert.Throws<ArgumentException>(() => DataSetSource.Find("imagenet"));
    }
}
