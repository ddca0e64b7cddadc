using EvenConv.Reproduction.Experiments;

namespace EvenConv.Reproduction;

/// <summary>The paper's experiments that fit a CPU machine, in the order <c>reproduce</c> runs them: the ones that need
/// no training first (they are exact at any budget), then the training experiments.</summary>
public static class PaperExperiments
{
    /// <summary>Every experiment, in order.</summary>
    public static IReadOnlyList<IExperiment> All() =>
    [
        new ShiftExperiment(),
        new ErosionExperiment(),
        new ImageNetTableExperiment(),
        new SweepAxesExperiment(),
        new KernelKindTrainingExperiment(),
        new GanExperiment(),
        new TrainingOverheadExperiment(),
    ];

    /// <summary>The experiments named in a comma-separated list (all when null or empty), in the standard order.</summary>
    public static IReadOnlyList<IExperiment> Select(string? ids)
    {
        var all = All();
        if (string.IsNullOrWhiteSpace(ids)) return all;
        var wanted = ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unknown = wanted.Where(w => all.All(e => !e.Id.Equals(w, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown experiment id(s): {string.Join(", ", unknown)}. Valid ids: {string.Join(", ", all.Select(e => e.Id))}.");
        return all.Where(e => wanted.Contains(e.Id)).ToList();
    }
}
