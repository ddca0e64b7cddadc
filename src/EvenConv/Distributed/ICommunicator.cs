namespace EvenConv.Distributed;

/// <summary>
/// The processes (ranks) of a data-parallel job and the collective operations training needs from them. Every call is
/// collective: all ranks make it, in the same order, with buffers of the same length, or the job hangs. The trainer is
/// written against this interface only, so the same code runs as one process (<see cref="SingleProcess"/>) or as
/// ranks of an MPI job (<see cref="MpiCommunicator"/>); a GPU build would add one over NCCL (docs/distributed.md).
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index, 0 … <see cref="Size"/> − 1; rank 0 is the root that writes files.</summary>
    int Rank { get; }

    /// <summary>Number of ranks in the job.</summary>
    int Size { get; }

    /// <summary>Ranks running on this machine (they share its cores).</summary>
    int LocalSize { get; }

    /// <summary>What runs the job, for logs: "single process", "Open MPI 4.1.4, 2 ranks".</summary>
    string Description { get; }

    /// <summary>Replaces every element with its sum over all ranks.</summary>
    void AllreduceSum(Span<float> values);

    /// <summary>Replaces every element with its sum over all ranks.</summary>
    void AllreduceSum(Span<double> values);

    /// <summary>Copies <paramref name="data"/> of rank <paramref name="root"/> into every other rank's.</summary>
    void Broadcast(Span<byte> data, int root = 0);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every rank of the job at once with <paramref name="exitCode"/> (after a failure on this rank that
    /// the others cannot know about, which would otherwise leave them waiting in their next collective).</summary>
    void Abort(int exitCode);
}

/// <summary>A job of one process: every collective is the identity.</summary>
public sealed class SingleProcess : ICommunicator
{
    public static SingleProcess Instance { get; } = new();

    private SingleProcess() { }

    public int Rank => 0;
    public int Size => 1;
    public int LocalSize => 1;
    public string Description => "single process";
    public void AllreduceSum(Span<float> values) { }
    public void AllreduceSum(Span<double> values) { }
    public void Broadcast(Span<byte> data, int root = 0) => CheckRoot(root);
    public void Barrier() { }
    public void Abort(int exitCode) => Environment.Exit(exitCode);
    public void Dispose() { }

    private static void CheckRoot(int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "a single-process job has only rank 0.");
    }
}
