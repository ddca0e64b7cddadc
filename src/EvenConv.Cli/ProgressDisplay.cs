using System.Diagnostics;
using Spectre.Console;

namespace EvenConv.Cli;

/// <summary>
/// Shows the progress of long work: a live bar on an interactive terminal, and plain timestamped lines (at most one
/// every few seconds) when the output is redirected, e.g. to a CI log.
/// </summary>
internal static class ProgressDisplay
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    /// <summary>Runs <paramref name="work"/>, rendering each report as <paramref name="describe"/> at <paramref name="fraction"/> (0–1).</summary>
    public static TResult Run<TProgress, TResult>(Func<TProgress, string> describe, Func<TProgress, double> fraction, Func<IProgress<TProgress>, TResult> work)
    {
        if (!ConsoleOutput.IsInteractive)
        {
            var clock = Stopwatch.StartNew();
            var last = -PlainInterval;
            string? lastText = null;
            return work(new InlineProgress<TProgress>(p =>
            {
                var text = describe(p);
                if (text == lastText || clock.Elapsed - last < PlainInterval && fraction(p) < 1) return;
                (last, lastText) = (clock.Elapsed, text);
                Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {fraction(p) * 100,5:F1}% {text}");
            }));
        }
        TResult result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: 1.0);
                result = work(new InlineProgress<TProgress>(p =>
                {
                    task.Description = Markup.Escape(describe(p));
                    task.Value = Math.Clamp(fraction(p), 0, 1);
                }));
                task.Value = 1.0;
            });
        return result;
    }
}
