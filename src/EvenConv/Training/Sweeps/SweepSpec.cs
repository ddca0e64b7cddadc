using System.Text.Json;
using EvenConv.Layers;

namespace EvenConv.Training.Sweeps;

/// <summary>One cell of a sweep: a model, a kernel kind and a seed, trained in its own run directory.</summary>
public sealed record SweepCell(string Model, string Conv, ulong Seed)
{
    /// <summary>The cell's run directory name, e.g. "resnet20-c2sp-seed1".</summary>
    public string Id => $"{Model}-{Conv}-seed{Seed}";
}

/// <summary>
/// A grid of training runs: every model × kernel kind × seed, each with <see cref="Base"/>'s recipe. "resnet-cifar"
/// with depths n = 3, 6, 9, … means pre-activation ResNet-(6n+2), the family of the paper's CIFAR sweep (§3.1).
/// </summary>
public sealed record SweepSpec(IReadOnlyList<string> Models, IReadOnlyList<string> Convs, int Seeds, TrainingConfig Base)
{
    /// <summary>Models from "--model FAMILY --depths …": "resnet-cifar" and n values, or a comma list of model names.</summary>
    public static IReadOnlyList<string> ExpandModels(string model, IReadOnlyList<int>? depths)
    {
        if (model == "resnet-cifar")
        {
            if (depths is null || depths.Count == 0) throw new ArgumentException("--model resnet-cifar needs --depths, the blocks per stage n (depth 6n+2), e.g. 3,6,9.");
            if (depths.Any(n => n < 1)) throw new ArgumentException($"--depths {string.Join(",", depths)}: each n must be ≥ 1.");
            return depths.Select(ClassifierModels.ResNetCifarName).ToArray();
        }
        if (depths is { Count: > 0 }) throw new ArgumentException($"--depths applies to --model resnet-cifar only, not '{model}'; list model names instead (e.g. resnet20,resnet56).");
        return model.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>All cells, seed-major so that an interrupted sweep has every kind at the first seed early.</summary>
    public IReadOnlyList<SweepCell> Cells() =>
        [.. from s in Enumerable.Range(0, Seeds) from m in Models from c in Convs select new SweepCell(m, c, Base.Seed + (ulong)s)];

    /// <summary>The full training config of a cell.</summary>
    public TrainingConfig ConfigFor(SweepCell cell) => Base with { Model = cell.Model, Conv = cell.Conv, Seed = cell.Seed };

    /// <summary>Checks every value and every cell's config.</summary>
    public SweepSpec Validate()
    {
        if (Models.Count == 0) throw new ArgumentException("the sweep has no models.");
        if (Convs.Count == 0) throw new ArgumentException("the sweep has no --convs.");
        if (Seeds < 1) throw new ArgumentException($"--seeds {Seeds} must be ≥ 1.");
        foreach (var conv in Convs) ConvKind.Parse(conv);
        foreach (var cell in Cells()) ConfigFor(cell).Validate();
        return this;
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SweepSpec FromJson(string json) => JsonSerializer.Deserialize<SweepSpec>(json, Json)!;
}
