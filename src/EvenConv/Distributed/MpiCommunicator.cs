using System.Globalization;

namespace EvenConv.Distributed;

/// <summary>
/// The ranks of an MPI job (<c>mpirun -np 4 ./evenconv train …</c>), on Open MPI's MPI_COMM_WORLD. Creating one
/// initialises MPI; disposing it finalises MPI. One per process.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    /// <summary>Environment variables an MPI launcher sets in every rank: Open MPI's mpirun, or PMIx / PMI under Slurm's srun.</summary>
    private static readonly string[] LauncherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"];

    // MPI counts are ints; longer buffers go in pieces of this many elements.
    private const int MaxCount = 1 << 30;

    private bool _finalized;

    /// <summary>Initialises MPI (thread level MPI_THREAD_SERIALIZED).</summary>
    /// <exception cref="EvenConvException">libmpi is missing or is not Open MPI's, or MPI does not start.</exception>
    public MpiCommunicator()
    {
        MpiLibrary.EnsureLoaded();
        int initialized, provided, rank, size;
        MpiLibrary.Check(MpiLibrary.Initialized(&initialized), "MPI_Initialized");
        if (initialized != 0) throw new InvalidOperationException("MPI is already initialised in this process; create one MpiCommunicator per process.");
        MpiLibrary.Check(MpiLibrary.Init_thread(null, null, MpiLibrary.ThreadSerialized, &provided), "MPI_Init_thread");
        if (provided < MpiLibrary.ThreadSerialized)
        {
            MpiLibrary.Finalize();
            throw new EvenConvException($"MPI provides thread level {provided}; EvenConv needs MPI_THREAD_SERIALIZED ({MpiLibrary.ThreadSerialized}).");
        }
        MpiLibrary.Check(MpiLibrary.Comm_rank(MpiLibrary.CommWorld, &rank), "MPI_Comm_rank");
        MpiLibrary.Check(MpiLibrary.Comm_size(MpiLibrary.CommWorld, &size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
        LocalSize = int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), NumberStyles.None, CultureInfo.InvariantCulture, out var local) && local > 0
            ? local : size;
        Description = $"{MpiLibrary.LibraryVersion()}, {size} rank{(size == 1 ? "" : "s")} ({LocalSize} on this machine)";
    }

    /// <summary>True when this process was started by an MPI launcher (mpirun, mpiexec, srun with PMI/PMIx).</summary>
    public static bool LaunchedByMpi => LauncherVariables.Any(v => Environment.GetEnvironmentVariable(v) is not null);

    /// <summary>Why MPI cannot be used here, or null when libmpi loads.</summary>
    public static string? Unavailable => MpiLibrary.LoadError;

    public int Rank { get; }
    public int Size { get; }
    public int LocalSize { get; }
    public string Description { get; }

    public void AllreduceSum(Span<float> values) => Allreduce(values, MpiLibrary.Float);

    public void AllreduceSum(Span<double> values) => Allreduce(values, MpiLibrary.Double);

    private void Allreduce<T>(Span<T> values, IntPtr type) where T : unmanaged
    {
        fixed (T* start = values)
            for (long done = 0; done < values.Length; done += MaxCount)
            {
                var count = (int)Math.Min(MaxCount, values.Length - done);
                MpiLibrary.Check(MpiLibrary.Allreduce(MpiLibrary.InPlace, (IntPtr)(start + done), count, type, MpiLibrary.Sum, MpiLibrary.CommWorld), "MPI_Allreduce");
            }
    }

    public void Broadcast(Span<byte> data, int root = 0) => Bcast(data, MpiLibrary.Byte, root);

    private void Bcast<T>(Span<T> data, IntPtr type, int root) where T : unmanaged
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"the job has ranks 0 … {Size - 1}.");
        fixed (T* start = data)
            for (long done = 0; done < data.Length; done += MaxCount)
            {
                var count = (int)Math.Min(MaxCount, data.Length - done);
                MpiLibrary.Check(MpiLibrary.Bcast((IntPtr)(start + done), count, type, root, MpiLibrary.CommWorld), "MPI_Bcast");
            }
    }

    public void Barrier() => MpiLibrary.Check(MpiLibrary.Barrier(MpiLibrary.CommWorld), "MPI_Barrier");

    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        MpiLibrary.Abort(MpiLibrary.CommWorld, exitCode);
        Environment.Exit(exitCode); // MPI_Abort does not return; in case an implementation does
    }

    /// <summary>Finalises MPI (collective: every rank must get here).</summary>
    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        int finalized;
        if (MpiLibrary.Finalized(&finalized) == 0 && finalized == 0) MpiLibrary.Finalize();
    }
}
