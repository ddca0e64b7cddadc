using EvenConv.IO;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EvenConv.Training;

/// <summary>What one epoch produced. Test error and accuracy are fractions (0.05 = 5 %).</summary>
public sealed record EpochMetrics(
    int Epoch, double LearningRate, double TrainLoss, double TrainAccuracy, double TestLoss, double TestError,
    double ImagesPerSecond, double StallSeconds, double EpochSeconds, long PeakMemoryBytes)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public string ToJsonLine() => JsonSerializer.Serialize(this, Json);

    public static EpochMetrics FromJsonLine(string line) => JsonSerializer.Deserialize<EpochMetrics>(line, Json)!;

    public const string CsvHeader = "epoch,lr,train_loss,train_accuracy,test_loss,test_error,images_per_second,stall_seconds,epoch_seconds,peak_memory_bytes";

    public string ToCsvLine() => string.Join(',', new object[]
        { Epoch, LearningRate, TrainLoss, TrainAccuracy, TestLoss, TestError, ImagesPerSecond, StallSeconds, EpochSeconds, PeakMemoryBytes }
        .Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));

    /// <summary>Writes the whole history as metrics.jsonl and metrics.csv in <paramref name="directory"/>, atomically.</summary>
    public static void WriteAll(string directory, IReadOnlyList<EpochMetrics> history)
    {
        AtomicFile.WriteAllText(Path.Combine(directory, "metrics.jsonl"), string.Concat(history.Select(m => m.ToJsonLine() + "\n")));
        var csv = new StringBuilder(CsvHeader).Append('\n');
        foreach (var m in history) csv.Append(m.ToCsvLine()).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(directory, "metrics.csv"), csv.ToString());
    }

    /// <summary>Reads metrics.jsonl from a run directory (empty when absent).</summary>
    public static IReadOnlyList<EpochMetrics> ReadAll(string directory)
    {
        var path = Path.Combine(directory, "metrics.jsonl");
        return File.Exists(path) ? File.ReadLines(path).Where(l => l.Length > 0).Select(FromJsonLine).ToArray() : [];
    }
}
