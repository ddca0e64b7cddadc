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
