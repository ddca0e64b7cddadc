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

    /// <summary><c>at::globalContext()</c>: libtorch's process-wide settings object.</summary>
    public static readonly delegate* unmanaged<void*> GlobalContext =
        (delegate* unmanaged<void*>)Find("_ZN2at13globalContextEv");

    /// <summary><c>at::Context::setUserEnabledNNPACK(bool)</c> (Python's <c>torch.backends.nnpack.set_flags</c>), a member
    /// function: the context is its first argument.</summary>
    public static readonly delegate* unmanaged<void*, byte, void> SetUserEnabledNnpack =
        (delegate* unmanaged<void*, byte, void>)Find("_ZN2at7Context20setUserEnabledNNPACKEb");

    /// <summary><c>at::Context::userEnabledNNPACK() const</c>.</summary>
    public static readonly delegate* unmanaged<void*, byte> UserEnabledNnpack =
        (delegate* unmanaged<void*, byte>)Find("_ZNK2at7Context17userEnabledNNPACKEv");

    /// <summary><c>at::native::_nnpack_available()</c>: whether NNPACK initialised on this CPU (logs a warning when not).</summary>
    public static readonly delegate* unmanaged<byte> NnpackAvailable =
        (delegate* unmanaged<byte>)Find("_ZN2at6native17_nnpack_availableEv");

    private static IntPtr Find(string symbol) =>
        OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libtorch_cpu.so", out var library) &&
        NativeLibrary.TryGetExport(library, symbol, out var address) ? address : IntPtr.Zero;
}
