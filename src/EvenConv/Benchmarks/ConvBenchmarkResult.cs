using System.Text.Json;
using System.Text.Json.Serialization;

namespace EvenConv.Benchmarks;

/// <summary>One variant at one shape. Times are medians over the interleaved rounds, in milliseconds per call
/// (the <c>_min</c> fields are the fastest sample); fwd is no_grad forward, fwd_bwd forward plus input and weight
/// gradients.</summary>
/// <param name="Batch">Batch size N.</param>
/// <param name="Channels">Input and output channels.</param>
/// <param name="Size">Height and width.</param>
/// <param name="Kind">Variant name: c3, c2sp, c2sp_naive, dws, ...</param>
/// <param name="FwdMs">Median forward time.</param>
/// <param name="FwdBwdMs">Median forward+backward time.</param>
/// <param name="FwdGflops">Achieved forward GFLOP/s.</param>
/// <param name="FwdMsMin">Fastest forward sample.</param>
/// <param name="FwdBwdMsMin">Fastest forward+backward sample.</param>
/// <param name="Gflops">Achieved GFLOP/s of forward+backward (3× the forward FLOPs, 2 FLOPs per multiply-add).</param>
/// <param name="SavedBytes">Memory the autograd graph holds for backward beyond the input, weights and output; null
/// where the allocator cannot be asked.</param>
public sealed record ConvBenchmarkRow(
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("size")] int Size,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("fwd_ms")] double FwdMs,
    [property: JsonPropertyName("fwd_bwd_ms")] double FwdBwdMs,
    [property: JsonPropertyName("saved_bytes")] long? SavedBytes,
    [property: JsonPropertyName("gflops")] double Gflops,
    [property: JsonPropertyName("fwd_gflops")] double FwdGflops,
    [property: JsonPropertyName("fwd_ms_min")] double FwdMsMin,
    [property: JsonPropertyName("fwd_bwd_ms_min")] double FwdBwdMsMin)
{
    [JsonIgnore] public ConvBenchmarkShape Shape => new(Batch, Channels, Size);
}

/// <summary>The practical ceiling: a large 3×3 convolution (N32, C256, 28×28) on this machine.</summary>
public sealed record ConvBenchmarkPeak(
    [property: JsonPropertyName("shape")] string Shape,
    [property: JsonPropertyName("fwd_gflops")] double FwdGflops,
    [property: JsonPropertyName("fwd_bwd_gflops")] double FwdBwdGflops);

/// <summary>Everything one run of <see cref="ConvBenchmark"/> measured, with the settings that decide speed (C2spKernels:
/// which C2sp kernels ran, e.g. "fused (AVX2; …)", <see cref="Runtime.C2spKernelsDescription"/>).</summary>
public sealed record ConvBenchmarkResult(
    [property: JsonPropertyName("rows")] IReadOnlyList<ConvBenchmarkRow> Rows,
    [property: JsonPropertyName("peak")] ConvBenchmarkPeak? Peak,
    [property: JsonPropertyName("layout")] string Layout,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("allocator")] string Allocator,
    [property: JsonPropertyName("rounds")] int Rounds,
    [property: JsonPropertyName("c2sp_kernels")] string C2spKernels)
{
    /// <summary>The row of <paramref name="kind"/> at <paramref name="shape"/>, or null.</summary>
    public ConvBenchmarkRow? Find(ConvBenchmarkShape shape, string kind) =>
        Rows.FirstOrDefault(r => r.Shape == shape && r.Kind == kind);

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Writes the result as JSON, atomically (a temporary file renamed over the target).</summary>
    public void WriteJson(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, JsonOptions));
        File.Move(temp, full, overwrite: true);
    }
}
