using EvenConv.IO;

namespace EvenConv.Training.Sweeps;

/// <summary>
/// Runs a sweep in DIR: each cell trains in DIR/cells/ID (a normal run directory). Rerunning the same sweep skips
/// finished cells (result.json present) and resumes an interrupted one from its checkpoint, so a sweep can be stopped
/// and continued at any point; the report is rewritten after every cell.
/// </summary>
public sealed class SweepRunner(SweepSpec spec, string outputDirectory, ModelFactory modelFactory)
{
    public const string SpecFile = "sweep.json";

    /// <summary>Progress of the cell being trained.</summary>
    public Action<SweepCell, TrainingProgress>? Progress { get; init; }

    /// <summary>A line about the sweep (cell started, skipped, finished).</summary>
    public Action<string>? Message { get; init; }

    public string CellDirectory(SweepCell cell) => SweepReport.CellDirectory(outputDirectory, cell);

    /// <summary>Trains every unfinished cell, then writes the report; returns it.</summary>
    public SweepReport Run(CancellationToken cancellation = default)
    {
        spec.Validate();
        Directory.CreateDirectory(outputDirectory);
        var specPath = Path.Combine(outputDirectory, SpecFile);
        if (File.Exists(specPath))
        {
            var saved = SweepSpec.FromJson(File.ReadAllText(specPath));
            // Cells may be added (more kinds, depths or seeds); the recipe they share may not change.
            if ((saved.Base with { Seed = 0 }).RecipeDifferences(spec.Base with { Seed = 0 }) is { Count: > 0 } changed)
                throw new EvenConvException($"{outputDirectory} holds a sweep with another training recipe ({SpecFile}: {string.Join(", ", changed)} differ); continue it with the same options or choose another --out.");
        }
        AtomicFile.WriteAllText(specPath, spec.ToJson());

        var cells = spec.Cells();
        for (var i = 0; i < cells.Count; i++)
        {
            var cell = cells[i];
            var dir = CellDirectory(cell);
            if (Trainer.ReadResult(dir) is not null)
            {
                Message?.Invoke($"[{i + 1}/{cells.Count}] {cell.Id}: finished earlier, skipped");
                continue;
            }
            var resume = File.Exists(Path.Combine(dir, Trainer.CheckpointFile));
            Message?.Invoke($"[{i + 1}/{cells.Count}] {cell.Id}: {(resume ? "resuming" : "training")}");
            var result = new Trainer(spec.ConfigFor(cell), dir, modelFactory) { Progress = p => Progress?.Invoke(cell, p) }.Run(resume, cancellation);
            Message?.Invoke($"[{i + 1}/{cells.Count}] {cell.Id}: test error {100 * result.FinalTestError:F2}%");
            SweepReport.WriteCellCurve(dir, cell);
            SweepReport.Write(spec, outputDirectory, cellCurves: false);
        }
        return SweepReport.Write(spec, outputDirectory);
    }
}
