using System.Globalization;
using EvenConv.Training;
using Spectre.Console;

namespace EvenConv.Cli;

/// <summary>Shows a training run: a live bar (epoch, loss, throughput, ETA) on a terminal, plain lines otherwise, and a
/// summary line per epoch either way.</summary>
internal static class TrainingConsole
{
    /// <summary>Runs <paramref name="run"/>, which receives the progress callback to hand to its trainer.</summary>
    public static T Run<T>(string title, Func<Action<TrainingProgress>, T> run)
    {
        if (!ConsoleOutput.IsInteractive)
        {
            var lastLine = DateTime.MinValue;
            return run(p =>
            {
                if (p.EpochDone is { } m) { Console.WriteLine(EpochLine(m, p.Epochs)); return; }
                if (DateTime.UtcNow - lastLine < TimeSpan.FromSeconds(30) && p.Batch != 1) return;
                lastLine = DateTime.UtcNow;
                Console.WriteLine(StepLine(title, p));
            });
        }
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 24 }, new PercentageColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title));
                result = run(p =>
                {
                    task.MaxValue = (double)p.Epochs * p.Batches;
                    task.Value = (double)(p.Epoch - 1) * p.Batches + p.Batch;
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{title} {p.Epoch}/{p.Epochs} loss {p.Loss:F4} {p.ImagesPerSecond:F0} img/s lr {p.LearningRate:G3} ETA {Eta(p.Eta)}"));
                    if (p.EpochDone is { } m) AnsiConsole.MarkupLine(Markup.Escape(EpochLine(m, p.Epochs)));
                });
            });
        return result;
    }

    private static string StepLine(string title, TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"{title} epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches} loss {p.Loss:F4} {p.ImagesPerSecond:F0} img/s lr {p.LearningRate:G4} ETA {Eta(p.Eta)}");

    public static string EpochLine(EpochMetrics m, int epochs) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {m.Epoch}/{epochs}  lr {m.LearningRate:G4}  train loss {m.TrainLoss:F4} acc {100 * m.TrainAccuracy:F2}%  " +
        $"test loss {m.TestLoss:F4} error {100 * m.TestError:F2}%  {m.ImagesPerSecond:F0} img/s  stall {m.StallSeconds:F1}s  {m.EpochSeconds:F0}s");

    private static string Eta(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";
}
