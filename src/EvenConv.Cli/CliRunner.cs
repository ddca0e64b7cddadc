using System.CommandLine;
using System.Runtime.InteropServices;
using Spectre.Console;

namespace EvenConv.Cli;

/// <summary>Runs the command tree and turns expected failures (bad input, bad options) into a one-line error and exit code 1.</summary>
internal static class CliRunner
{
    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // First Ctrl+C: stop at the next safe point (checkpoints are written atomically); second: exit at once.
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
            Console.Error.WriteLine("Stopping after the current step... (press Ctrl+C again to abort)");
        };
        // `kill PID` (SIGTERM) stops like Ctrl+C: background runs, whose SIGINT the shell ignores, still checkpoint first.
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        });
        try
        {
            var parsed = root.Parse(args);
            // The handlers here rule: System.CommandLine would print every exception with its stack trace, and force an
            // exit 2 s after a signal, before a checkpoint can be written.
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("Interrupted; finished work is kept and the run can be resumed.");
            return 130;
        }
        catch (Exception e) when (IsUserError(e))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
    }

    /// <summary>Errors that describe a problem with the user's input rather than a bug: reported without a stack trace.</summary>
    internal static bool IsUserError(Exception e) =>
        e is ArgumentException or FormatException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or EvenConv.EvenConvException or InvalidOperationException;
}
