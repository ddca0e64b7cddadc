using System.Text.Json;
using EvenConv.Benchmarks;
using EvenConv.Ops;

namespace EvenConv.Tests.Benchmarks;

/// <summary>The benchmark on a tiny shape: every variant gets a row, memory accounting tells a kept copy from none,
/// and the JSON has the documented keys.</summary>
public class ConvBenchmarkTests
{
    [Fact]
    public void A_tiny_run_reports_every_variant_and_accounts_for_saved_copies()
    {
        var shape = new ConvBenchmarkShape(4, 16, 12);
        var options = new ConvBenchmarkOptions { Shapes = [shape], Rounds = 1, WarmupCalls = 1, MinSampleMilliseconds = 0, MeasurePeak = false, Layout = MemoryLayout.ChannelsLast };
        var result = ConvBenchmark.Run(options);
        Assert.Equal(ConvVariant.Names, result.Rows.Select(r => r.Kind));
        Assert.All(result.Rows, r => Assert.True(r.FwdMs > 0 && r.FwdBwdMs > 0 && r.Gflops > 0));
        if (result.Find(shape, "c3")!.SavedBytes is not { } c3Saved) return;   // no allocator statistics here
        long paddedBytes = 4L * 16 * 13 * 13 * 4;
        Assert.True(result.Find(shape, "c2sp")!.SavedBytes <= c3Saved + 4096, "fused c2sp keeps more than c3");
        Assert.True(result.Find(shape, "c2sp_naive")!.SavedBytes >= paddedBytes, "the naive c2sp keeps its concatenated copy");

        var path = Path.Combine(Path.GetTempPath(), $"evenconv-bench-{Guid.NewGuid():N}.json");
        try
        {
            result.WriteJson(path);
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var row = doc.RootElement.GetProperty("rows")[0];
            foreach (var key in new[] { "batch", "channels", "size", "kind", "fwd_ms", "fwd_bwd_ms", "saved_bytes", "gflops" })
                Assert.True(row.TryGetProperty(key, out _), key);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void An_unknown_variant_is_rejected_with_the_valid_names()
    {
        var e = Assert.Throws<ArgumentException>(() => ConvBenchmark.Run(new ConvBenchmarkOptions { Kinds = ["c2x"] }));
        Assert.Contains("c2sp_naive", e.Message);
    }
}
