namespace EvenConv.NativeFix;

/// <summary>The outcome of <see cref="LibTorchSharpFix.Ensure"/> for one file.</summary>
public enum FixOutcome
{
    /// <summary>The host's libstdc++ has every version the file needs.</summary>
    NotNeeded,
    /// <summary>The file was patched by an earlier run.</summary>
    AlreadyPatched,
    /// <summary>The file was patched now.</summary>
    Patched,
}

/// <summary>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> requires GLIBCXX_3.4.32 for a single symbol,
/// <c>_ZSt21ios_base_library_initv</c>, that no relocation uses; Debian 12's libstdc++ stops at 3.4.30, so the
/// library does not load there. This class patches the copy of that library in a build output folder (never
/// the NuGet cache) so the missing version is weak, and only when the host lacks it.
/// </summary>
public static class LibTorchSharpFix
{
    /// <summary>The native library this fix is for.</summary>
    public const string LibraryName = "libLibTorchSharp.so";

    private const string StdCxx = "libstdc++.so.6";

    /// <summary>The copies of <see cref="LibraryName"/> in an output folder: at its root and under runtimes/.</summary>
    public static IEnumerable<string> FindIn(string outputDirectory)
    {
        foreach (var candidate in new[] { Path.Combine(outputDirectory, LibraryName), Path.Combine(outputDirectory, "runtimes", "linux-x64", "native", LibraryName) })
            if (File.Exists(candidate)) yield return candidate;
    }

    /// <summary>
    /// Makes <paramref name="libraryPath"/> loadable against the host's libstdc++, given the versions that
    /// library defines. Idempotent; the file is replaced atomically, so concurrent callers are safe.
    /// </summary>
    public static FixOutcome Ensure(string libraryPath, IReadOnlySet<string> hostVersions)
    {
        var elf = ElfFile.Read(libraryPath);
        var plan = VersionNeedPatcher.Plan(elf, StdCxx, hostVersions);
        if (plan.Missing.Count == 0) return FixOutcome.NotNeeded;
        if (plan.NothingToDo) return FixOutcome.AlreadyPatched;
        if (IsInsideNuGetCache(libraryPath))
            throw new NativeFixException(
                $"{libraryPath} is inside the NuGet package cache, which is shared by every project; EvenConv only patches " +
                "the copy in a build output folder. Build the project that uses TorchSharp and run it from its output folder.");
        WriteAtomically(libraryPath, VersionNeedPatcher.Apply(elf, plan));
        return FixOutcome.Patched;
    }

    /// <summary>Runs <see cref="Ensure"/> on every copy in an output folder; returns what happened to each.</summary>
    public static IReadOnlyList<(string Path, FixOutcome Outcome)> EnsureOutputFolder(string outputDirectory)
    {
        var files = FindIn(outputDirectory).ToList();
        if (files.Count == 0 || !OperatingSystem.IsLinux()) return [];
        var host = HostStdCxxVersions();
        return files.Select(f => (f, Ensure(f, host))).ToList();
    }

    /// <summary>The symbol versions defined by the libstdc++ this process uses (or would use).</summary>
    public static IReadOnlySet<string> HostStdCxxVersions()
    {
        var path = HostStdCxxPath() ?? throw new NativeFixException(
            $"Could not find {StdCxx} on this host. Install it (Debian/Ubuntu: apt-get install libstdc++6), or set " +
            "EVENCONV_LIBSTDCXX to its path.");
        return ElfFile.Read(path).VersionDefinitions();
    }

    /// <summary>
    /// The libstdc++ the dynamic linker will use: EVENCONV_LIBSTDCXX if set, else the one already mapped into this
    /// process (the .NET runtime links it), else the usual system locations.
    /// </summary>
    public static string? HostStdCxxPath()
    {
        var overridePath = Environment.GetEnvironmentVariable("EVENCONV_LIBSTDCXX");
        if (!string.IsNullOrEmpty(overridePath)) return overridePath;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var at = line.IndexOf('/');
                if (at >= 0 && line.EndsWith("/" + StdCxx, StringComparison.Ordinal)) return line[at..];
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        string[] dirs = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib"];
        return dirs.Select(d => Path.Combine(d, StdCxx)).FirstOrDefault(File.Exists);
    }

    private static bool IsInsideNuGetCache(string path)
    {
        var full = Path.GetFullPath(path);
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(cache))
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return full.StartsWith(Path.GetFullPath(cache) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
            File.Move(temp, path, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new NativeFixException($"Cannot patch {path}: {e.Message}. Make the build output folder writable, or run the build once as the owner of that folder.");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
