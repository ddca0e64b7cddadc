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
    /// <summary>How many chunks to cut <paramref name="items"/> work items into: four per libtorch intra-op thread (the
    /// user's thread setting), so that a thread slowed by something else on its core hands chunks to the others; one
    /// on a single thread; fewer where a chunk would get less than <paramref name="minItemsPerChunk"/>.</summary>
    public static int Chunks(long items, long minItemsPerChunk)
    {
        var threads = get_num_threads();
        return threads <= 1 ? 1 : (int)Math.Clamp(Math.Min(4L * threads, items / Math.Max(1, minItemsPerChunk)), 1, 256);
    }

    /// <summary>Calls <paramref name="body"/>(chunk, first, end) for <paramref name="chunks"/> contiguous near-equal
    /// ranges of [0, <paramref name="items"/>).</summary>
    public static void ForRanges(long items, int chunks, Action<int, long, long> body) =>
        For(chunks, c => body(c, items * c / chunks, items * (c + 1) / chunks));

    /// <summary>Calls <paramref name="body"/>(i) for i in [0, <paramref name="count"/>), spread over libtorch's intra-op
    /// threads, each taking the next index when it is done with one; exceptions reach the caller.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 1) { if (count == 1) body(0); return; }
        if (LibTorchExports.GompParallel == null)
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = get_num_threads() }, body);
            return;
        }
        var region = new Region(body, count);
        var handle = GCHandle.Alloc(region);
        var threads = (uint)Math.Clamp(get_num_threads(), 1, count);
        try { LibTorchExports.GompParallel(&Worker, (void*)GCHandle.ToIntPtr(handle), threads, 0); }
        finally { handle.Free(); }
        region.Failure?.Throw();
    }

    private sealed class Region(Action<int> body, int count)
    {
        private int next;

        public Action<int> Body { get; } = body;
        public int Count { get; } = count;
        public ExceptionDispatchInfo? Failure { get; set; }

        /// <summary>The next index to run, or −1 when all are taken.</summary>
        public int Take()
        {
            var i = Interlocked.Increment(ref next) - 1;
            return i < Count ? i : -1;
        }
    }

    // Runs on every thread of the team; an exception must not cross back into native code.
    [UnmanagedCallersOnly]
    private static void Worker(void* data)
    {
        var region = (Region)GCHandle.FromIntPtr((IntPtr)data).Target!;
        for (var i = region.Take(); i >= 0; i = region.Take())
        {
            try { region.Body(i); }
            catch (Exception e)
            {
                lock (region) region.Failure ??= ExceptionDispatchInfo.Capture(e);
            }
        }
    }
}
