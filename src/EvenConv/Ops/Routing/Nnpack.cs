namespace EvenConv.Ops.Routing;

/// <summary>
/// libtorch considers NNPACK for every float32 NCHW convolution oneDNN does not take and for every float64 one, and
/// asks each time whether NNPACK initialised; where it could not (its cpuinfo finds no caches, as on VMs whose CPUID
/// reports none — the hosts of <see cref="OneDnnHealth"/>), every ask logs "Could not initialize NNPACK! Reason:
/// Unsupported hardware.": about 300 lines for one measured shift analysis of ResNet-20. There NNPACK is switched
/// off, as Python's <c>torch.backends.nnpack.set_flags(False)</c> does, which leaves one line and changes no result:
/// libtorch goes straight to the convolution it would have run anyway. Where NNPACK works it stays on.
/// </summary>
internal static unsafe class Nnpack
{
    private static int _decided;

    /// <summary>Decides once per process; later calls return at once.</summary>
    public static void OffWhereUnavailable()
    {
        if (Volatile.Read(ref _decided) != 0 || Interlocked.Exchange(ref _decided, 1) != 0) return;
        if (LibTorchExports.NnpackAvailable == null || LibTorchExports.GlobalContext == null || LibTorchExports.SetUserEnabledNnpack == null) return;
        if (LibTorchExports.NnpackAvailable() == 0) LibTorchExports.SetUserEnabledNnpack(LibTorchExports.GlobalContext(), 0);
    }

    /// <summary>Whether libtorch may use NNPACK now (its user switch); null where the switch cannot be read.</summary>
    internal static bool? Enabled => LibTorchExports.UserEnabledNnpack == null || LibTorchExports.GlobalContext == null
        ? null : LibTorchExports.UserEnabledNnpack(LibTorchExports.GlobalContext()) != 0;

    /// <summary>Whether NNPACK initialised on this CPU; null where libtorch's answer cannot be read.</summary>
    internal static bool? Available => LibTorchExports.NnpackAvailable == null ? null : LibTorchExports.NnpackAvailable() != 0;
}
