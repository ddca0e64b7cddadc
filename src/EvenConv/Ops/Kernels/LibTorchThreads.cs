using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace EvenConv.Ops.Kernels;

/// <summary>
/// Runs the C# kernels' parallel loops on libtorch's own intra-op threads (its OpenMP team), not on .NET pool threads.
/// After each parallel op libtorch's OpenMP workers keep spinning on their cores for a while; a .NET thread started
/// then competes with a spinning worker for the same core, which made the fused C2sp backward 1.5–2× slower inside a
/// training step than alone. Entering an OpenMP parallel region instead reuses those very workers (already awake).
/// Falls back to <see cref="Parallel.For(int, int, Action{int})"/> where the runtime cannot be reached.
/// </summary>
internal static unsafe class LibTorchThreads
{
    /// <summary>How many chunks to cut <paramref name="items"/> work items into: one per libtorch intra-op thread (the
    /// user's thread setting), fewer where a chunk would get less than <paramref name="minItemsPerChunk"/>.</summary>
    public static int Chunks(long items, long minItemsPerChunk) =>
        (int)Math.Clamp(Math.Min(get_num_threads(), items / Math.Max(1, minItemsPerChunk)), 1, 64);

    /// <summary>Calls <paramref name="body"/>(chunk, first, end) for <paramref name="chunks"/> contiguous near-equal
    /// ranges of [0, <paramref name="items"/>).</summary>
    public static void ForRanges(long items, int chunks, Action<int, long, long> body) =>
        For(chunks, c => body(c, items * c / chunks, items * (c + 1) / chunks));

    /// <summary>Calls <paramref name="body"/>(i) for i in [0, <paramref name="count"/>), spread over up to
    /// <paramref name="count"/> threads; exceptions reach the caller.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 1) { if (count == 1) body(0); return; }
        if (LibTorchExports.GompParallel == null || LibTorchExports.OmpThreadNum == null || LibTorchExports.OmpNumThreads == null)
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = count }, body);
            return;
        }
        var region = new Region(body, count);
        var handle = GCHandle.Alloc(region);
        try { LibTorchExports.GompParallel(&Worker, (void*)GCHandle.ToIntPtr(handle), (uint)count, 0); }
        finally { handle.Free(); }
        region.Failure?.Throw();
    }

    private sealed class Region(Action<int> body, int count)
    {
        public Action<int> Body { get; } = body;
        public int Count { get; } = count;
        public ExceptionDispatchInfo? Failure { get; set; }
    }

    // Runs on every thread of the team; an exception must not cross back into native code.
    [UnmanagedCallersOnly]
    private static void Worker(void* data)
    {
        var region = (Region)GCHandle.FromIntPtr((IntPtr)data).Target!;
        int thread = LibTorchExports.OmpThreadNum(), threads = LibTorchExports.OmpNumThreads();
        for (var i = thread; i < region.Count; i += threads)
        {
            try { region.Body(i); }
            catch (Exception e)
            {
                lock (region) region.Failure ??= ExceptionDispatchInfo.Capture(e);
            }
        }
    }
}
