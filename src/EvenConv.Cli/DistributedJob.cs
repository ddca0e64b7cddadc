using System.CommandLine;
using EvenConv.Distributed;
using Spectre.Console;

namespace EvenConv.Cli;

/// <summary>The command-line side of data-parallel jobs: the --distributed option, and failure handling that never
/// leaves ranks waiting for one that has gone.</summary>
internal static class DistributedJob
{
    public static Option<string> ModeOption() => new("--distributed")
    {
        Description = "auto (default: MPI when started by mpirun or srun), mpi, or none. Data-parallel: mpirun -np 4 ./evenconv train … (see docs/distributed.md).",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>Runs <paramref name="body"/> as a rank of <paramref name="job"/>. A failure in a job of several ranks is
    /// printed (with the rank) and ends every rank at once (MPI_Abort, exit 1): the others would otherwise wait in their
    /// next collective for this one. A stop that all ranks agreed on (Ctrl+C, SIGTERM) passes on as usual.</summary>
    public static T Run<T>(ICommunicator job, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (job.Size > 1 && e is not OperationCanceledException)
        {
            var text = CliRunner.IsUserError(e) ? e.Message : e.ToString();
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] rank {job.Rank} of {job.Size}: {text}");
            job.Abort(1);
            throw;
        }
    }
}
