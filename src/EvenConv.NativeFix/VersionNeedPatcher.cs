namespace EvenConv.NativeFix;

/// <summary>What <see cref="VersionNeedPatcher.Plan"/> decided for one ELF object.</summary>
/// <param name="Missing">Required versions the host library does not define.</param>
/// <param name="ToWeaken">The subset that is still strong and must be marked weak.</param>
public sealed record PatchPlan(IReadOnlyList<VersionNeed> Missing, IReadOnlyList<VersionNeed> ToWeaken)
{
    /// <summary>True when the object already loads on this host as it is.</summary>
    public bool NothingToDo => ToWeaken.Count == 0;
}

/// <summary>
/// Marks version needs weak (<c>vna_flags |= VER_FLG_WEAK</c>) so that an object linked against a newer
/// libstdc++ loads on a host with an older one. It only does so where that is safe: a version is weakened
/// only when no relocation uses a symbol bound to it, so the dynamic linker binds exactly what it bound
/// before; anything else is refused with a message that says why.
/// </summary>
public static class VersionNeedPatcher
{
    /// <summary>
    /// Decides which of <paramref name="elf"/>'s needs on <paramref name="library"/> (e.g. "libstdc++.so.6")
    /// are missing from <paramref name="hostVersions"/>, and checks that each may be weakened.
    /// </summary>
    /// <exception cref="NativeFixException">A missing version has symbols that relocations use.</exception>
    public static PatchPlan Plan(ElfFile elf, string library, IReadOnlySet<string> hostVersions)
    {
        var missing = elf.VersionNeeds().Where(n => n.File == library && !hostVersions.Contains(n.Version)).ToList();
        foreach (var need in missing.Where(n => !n.IsWeak))
        {
            var used = elf.RelocatedSymbolsOfVersion(need.Index);
            if (used.Count > 0)
                throw new NativeFixException(
                    $"{elf.Name} needs {need.Version} from {library}, which this host's {library} lacks, and uses " +
                    $"{used.Count} symbol(s) of it ({string.Join(", ", used.Take(3))}). Marking it weak would not be safe. " +
                    $"Install a newer {library} (e.g. GCC 13's libstdc++) or use a host with glibc/libstdc++ from 2023 or later.");
        }
        return new PatchPlan(missing, missing.Where(n => !n.IsWeak).ToList());
    }

    /// <summary>Returns a copy of the object's bytes with every need in <paramref name="plan"/> marked weak.</summary>
    public static byte[] Apply(ElfFile elf, PatchPlan plan)
    {
        var bytes = elf.Bytes.ToArray();
        foreach (var need in plan.ToWeaken)
        {
            var flags = (ushort)(need.Flags | VersionNeed.WeakFlag);
            bytes[need.FlagsOffset] = (byte)flags;
            bytes[need.FlagsOffset + 1] = (byte)(flags >> 8);
        }
        return bytes;
    }
}

/// <summary>The fix cannot be applied; the message names the file, the problem and what to do.</summary>
public sealed class NativeFixException(string message) : Exception(message);
