using System.Runtime.InteropServices;

namespace EvenConv;

/// <summary>Facts about the process that matter for speed and memory.</summary>
public static class Runtime
{
    /// <summary>
    /// Which malloc serves libtorch. glibc's malloc fragments under TorchSharp's allocation pattern (RSS grows every
    /// training step); tcmalloc keeps it flat and is 5–10 % faster. It must be preloaded before the process starts:
    /// <c>LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4</c> (Debian: libtcmalloc-minimal4), which the
    /// <c>./evenconv</c> launcher does.
    /// </summary>
    public static string AllocatorDescription()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
                if (line.Contains("libtcmalloc", StringComparison.Ordinal)) return "tcmalloc";
        }
        catch (IOException) { }
        return "glibc malloc (preload libtcmalloc_minimal.so.4 for flat memory and faster training)";
    }

    /// <summary>Whether the JIT tiers this process's code (quick code first, re-compiled in the background later) or
    /// compiles each method fully optimised on its first call. Tiering's background re-compilation competes with
    /// libtorch's threads for the cores during a run's first tens of seconds, which slowed short benchmarks and the
    /// first training steps by 10–20 % on 2 cores; the CLI turns it off (<c>TieredCompilation</c> in its project). An
    /// application using the library chooses for itself: <c>&lt;TieredCompilation&gt;false&lt;/TieredCompilation&gt;</c>
    /// in its project, or <c>DOTNET_TieredCompilation=0</c>.</summary>
    public static string JitDescription()
    {
        var variable = Environment.GetEnvironmentVariable("DOTNET_TieredCompilation");
        var tiered = variable is not null ? variable != "0"
            : !AppContext.TryGetSwitch("System.Runtime.TieredCompilation", out var enabled) || enabled;
        return tiered ? "tiered (background re-JIT during the first tens of seconds)" : "fully optimised on first call (tiering off)";
    }

    /// <summary>How C2sp layers run on this CPU: with the fused kernels (AVX-512 or AVX2 with FMA: no padded tensor,
    /// see docs/performance.md) or, without either, by the plain route (pad into a tensor, then libtorch's
    /// convolution).</summary>
    public static string C2spKernelsDescription() => Ops.Kernels.Simd.Name is { } isa
        ? $"fused ({isa}; float32 channels_last, 16-64 channels, stride 1 or 2)"
        : "plain route: pad, then libtorch's convolution (no AVX-512 or AVX2 with FMA here)";

    /// <summary>Peak resident set size of this process so far (VmHWM), in bytes; 0 where /proc is unavailable.</summary>
    public static long PeakResidentBytes() => ReadStatusKb("VmHWM:") * 1024;

    /// <summary>Starts a new peak: resets VmHWM to the current RSS (Linux ≥ 4.0, /proc/self/clear_refs), so that one
    /// process can report the peak memory of several runs one after another. Returns false where that is not possible.</summary>
    public static bool ResetPeakResident()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException) { return false; }
    }

    /// <summary>Current resident set size (VmRSS), in bytes; 0 where /proc is unavailable.</summary>
    public static long ResidentBytes() => ReadStatusKb("VmRSS:") * 1024;

    /// <summary>
    /// Bytes the C heap has handed out and not taken back — where libtorch keeps CPU tensors. Exact and immediate,
    /// unlike RSS, which allocators do not shrink when memory is freed (tcmalloc keeps freed pages for reuse). Read from
    /// tcmalloc (<c>generic.current_allocated_bytes</c>) when it is the allocator, else from glibc's
    /// <c>mallinfo2</c> (in-use arena chunks plus mmapped blocks); null where neither is available.
    /// </summary>
    public static long? HeapBytesInUse()
    {
        if (TcmallocProperty.Value is { } getProperty)
        {
            unsafe
            {
                nuint value;
                fixed (byte* name = "generic.current_allocated_bytes\0"u8)
                    if (((delegate* unmanaged<byte*, nuint*, int>)getProperty)(name, &value) != 0) return (long)value;
            }
        }
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var info = mallinfo2();
            return (long)(info.uordblks + info.hblkhd);
        }
        catch (EntryPointNotFoundException) { return null; }
    }

    private static readonly Lazy<IntPtr?> TcmallocProperty = new(() =>
    {
        if (!AllocatorDescription().StartsWith("tcmalloc", StringComparison.Ordinal)) return null;
        // Already mapped by LD_PRELOAD, so this returns the running allocator rather than loading a second one.
        return NativeLibrary.TryLoad("libtcmalloc_minimal.so.4", out var lib) && NativeLibrary.TryGetExport(lib, "MallocExtension_GetNumericProperty", out var fn)
            ? fn : null;
    });

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 mallinfo2();

    private static long ReadStatusKb(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return 0;
    }
}
