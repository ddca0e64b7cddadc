using System.Runtime.InteropServices;

namespace EvenConv.Distributed;

/// <summary>How a process takes part in data-parallel training.</summary>
public enum DistributedMode
{
    /// <summary>MPI when an MPI launcher started the process (mpirun, srun), else a single process.</summary>
    Auto,
    /// <summary>A single process, also under mpirun (then every rank trains alone: rarely what you want).</summary>
    None,
    /// <summary>MPI; fails with the reason when libmpi cannot be loaded.</summary>
    Mpi,
}

/// <summary>Starting the job a process belongs to, and sharing a machine's cores between its ranks.</summary>
public static class Job
{
    /// <summary>Parses "auto", "none" or "mpi".</summary>
    public static DistributedMode ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "auto" => DistributedMode.Auto,
        "none" or "off" => DistributedMode.None,
        "mpi" => DistributedMode.Mpi,
        _ => throw new ArgumentException($"--distributed '{text}' is not one of auto (MPI when started by mpirun), none, mpi."),
    };

    /// <summary>The communicator for <paramref name="mode"/>: an <see cref="MpiCommunicator"/> (MPI initialised) or
    /// <see cref="SingleProcess.Instance"/>. Dispose it at the end of the process's work (finalises MPI).</summary>
    public static ICommunicator Start(DistributedMode mode) =>
        mode == DistributedMode.Mpi || (mode == DistributedMode.Auto && MpiCommunicator.LaunchedByMpi)
            ? new MpiCommunicator()
            : SingleProcess.Instance;

    /// <summary>
    /// libtorch threads for each rank when the user sets none: the machine's cores shared between the ranks on it, but
    /// never more than the cores this process may run on (mpirun binds each rank to a core or a socket; .NET's
    /// processor count honours that binding). At least 1.
    /// </summary>
    public static int ThreadsPerRank(ICommunicator communicator)
    {
        var online = OperatingSystem.IsLinux() ? (int)Math.Max(1, sysconf(ScNProcessorsOnline)) : Environment.ProcessorCount;
        return Math.Max(1, Math.Min(Environment.ProcessorCount, online / Math.Max(1, communicator.LocalSize)));
    }

    private const int ScNProcessorsOnline = 84;

    [DllImport("libc")]
    private static extern long sysconf(int name);
}
