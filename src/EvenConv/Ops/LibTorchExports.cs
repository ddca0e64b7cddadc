using System.Runtime.InteropServices;

namespace EvenConv.Ops;

/// <summary>
/// Functions of libtorch's C++ API that TorchSharp 0.107 does not bind, reached by their exported (Itanium-ABI,
/// Linux) names, and of the OpenMP runtime libtorch runs its threads on. Each is optional: on other platforms or libtorch versions the lookup gives null and the caller keeps
/// its slower or more memory-hungry default, so nothing depends on them for correctness.
/// </summary>
internal static unsafe class LibTorchExports
{
    /// <summary><c>torch::autograd::get_current_graph_task_keep_graph()</c>: whether the running backward keeps the
    /// graph (<c>retain_graph</c>); true outside a backward.</summary>
    public static readonly delegate* unmanaged<byte> CurrentGraphTaskKeepGraph =
        (delegate* unmanaged<byte>)Find("_ZN5torch8autograd33get_current_graph_task_keep_graphEv");

    /// <summary><c>torch::jit::getGraphExecutorOptimize()</c>, a per-thread flag.</summary>
    public static readonly delegate* unmanaged<byte> GetGraphExecutorOptimize =
        (delegate* unmanaged<byte>)Find("_ZN5torch3jit24getGraphExecutorOptimizeEv");

    /// <summary><c>torch::jit::setGraphExecutorOptimize(bool)</c>, a per-thread flag.</summary>
    public static readonly delegate* unmanaged<byte, void> SetGraphExecutorOptimize =
        (delegate* unmanaged<byte, void>)Find("_ZN5torch3jit24setGraphExecutorOptimizeEb");

    /// <summary><c>GOMP_parallel(fn, data, num_threads, flags)</c>, the OpenMP runtime's entry for a parallel region,
    /// from the libgomp libtorch ships (found through libtorch_cpu's dependencies).</summary>
    public static readonly delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void> GompParallel =
        (delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void>)Find("GOMP_parallel");

    private static IntPtr Find(string symbol) =>
        OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libtorch_cpu.so", out var library) &&
        NativeLibrary.TryGetExport(library, symbol, out var address) ? address : IntPtr.Zero;
}
