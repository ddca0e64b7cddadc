using System.Buffers.Binary;
using System.Text;

namespace EvenConv.NativeFix;

/// <summary>
/// A minimal reader for the parts of a little-endian ELF64 shared object that symbol versioning uses:
/// section headers, the dynamic symbol table, <c>.gnu.version</c>, <c>.gnu.version_r</c>,
/// <c>.gnu.version_d</c> and the RELA relocation tables. It reads; <see cref="VersionNeedPatcher"/> writes.
/// </summary>
public sealed class ElfFile
{
    private const uint ShtRela = 4;
    private const uint ShtDynsym = 11;
    internal const uint ShtGnuVerdef = 0x6ffffffd;
    internal const uint ShtGnuVerneed = 0x6ffffffe;
    internal const uint ShtGnuVersym = 0x6fffffff;

    private readonly byte[] _bytes;
    private readonly Section[] _sections;

    /// <summary>The file's bytes; patches are made on a copy.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Where the file came from, for messages.</summary>
    public string Name { get; }

    private ElfFile(byte[] bytes, string name)
    {
        _bytes = bytes;
        Name = name;
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw new ElfFormatException($"{name}: not an ELF file (bad magic).");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new ElfFormatException($"{name}: only little-endian 64-bit ELF files are supported (class {bytes[4]}, data {bytes[5]}).");

        var shoff = U64(0x28);
        int shentsize = U16(0x3a), shnum = U16(0x3c);
        if (shentsize != 64 || shoff == 0 || shoff > (ulong)bytes.Length || (ulong)shnum * 64 > (ulong)bytes.Length - shoff)
            throw new ElfFormatException($"{name}: section header table is missing or truncated.");
        _sections = new Section[shnum];
        for (var i = 0; i < shnum; i++)
        {
            var o = (int)shoff + i * shentsize;
            // Offsets and sizes are checked against the file here, so every later use of a section stays inside it.
            ulong offset = U64(o + 0x18), size = U64(o + 0x20), type = U32(o + 4);
            if (type != 8 /* NOBITS */ && (offset > (ulong)bytes.Length || size > (ulong)bytes.Length - offset))
                throw new ElfFormatException($"{name}: section {i} runs past the end of the file (truncated?).");
            _sections[i] = new Section((uint)type, (int)Math.Min(offset, int.MaxValue), (int)Math.Min(size, int.MaxValue), U32(o + 0x28));
        }
    }

    /// <summary>Reads and parses an ELF file.</summary>
    public static ElfFile Read(string path) => new(File.ReadAllBytes(path), path);

    /// <summary>Parses ELF bytes already in memory (the bytes are copied).</summary>
    public static ElfFile Parse(ReadOnlySpan<byte> bytes, string name = "<memory>") => new(bytes.ToArray(), name);

    /// <summary>Every version this object requires, grouped by the library it requires them from.</summary>
    public IReadOnlyList<VersionNeed> VersionNeeds()
    {
        var result = new List<VersionNeed>();
        var sec = FindSection(ShtGnuVerneed);
        if (sec is null) return result;
        var strtab = Linked(sec.Value);
        var entry = sec.Value.Offset;
        for (var n = 0; n < 10_000; n++)
        {
            int cnt = U16(entry + 2);
            var file = Str(strtab, (int)U32(entry + 4));
            var aux = entry + (int)U32(entry + 8);
            for (var j = 0; j < cnt; j++)
            {
                result.Add(new VersionNeed(file, Str(strtab, (int)U32(aux + 8)), U16(aux + 4), (ushort)(U16(aux + 6) & 0x7fff), aux + 4));
                var auxNext = (int)U32(aux + 12);
                if (auxNext == 0) break;
                aux += auxNext;
            }
            var next = (int)U32(entry + 12);
            if (next == 0) return result;
            entry += next;
        }
        throw new ElfFormatException($"{Name}: .gnu.version_r does not terminate.");
    }

    /// <summary>Every version name this object defines (a shared library's exported versions, e.g. GLIBCXX_3.4.30).</summary>
    public IReadOnlySet<string> VersionDefinitions()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var sec = FindSection(ShtGnuVerdef);
        if (sec is null) return result;
        var strtab = Linked(sec.Value);
        var entry = sec.Value.Offset;
        for (var n = 0; n < 10_000; n++)
        {
            var aux = entry + (int)U32(entry + 12);
            result.Add(Str(strtab, (int)U32(aux)));
            var next = (int)U32(entry + 16);
            if (next == 0) return result;
            entry += next;
        }
        throw new ElfFormatException($"{Name}: .gnu.version_d does not terminate.");
    }

    /// <summary>
    /// Names of the dynamic symbols bound to version index <paramref name="versionIndex"/> that at least one
    /// relocation uses. A version need whose symbols no relocation uses can be made weak without changing
    /// what the dynamic linker binds.
    /// </summary>
    public IReadOnlyList<string> RelocatedSymbolsOfVersion(ushort versionIndex)
    {
        var dynsym = FindSection(ShtDynsym) ?? throw new ElfFormatException($"{Name}: no dynamic symbol table.");
        var versym = FindSection(ShtGnuVersym) ?? throw new ElfFormatException($"{Name}: no .gnu.version section.");
        var strtab = Linked(dynsym);
        var symbolCount = dynsym.Size / 24;
        var used = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var rela in _sections.Where(s => s.Type == ShtRela && s.Link < _sections.Length && _sections[s.Link].Type == ShtDynsym))
        {
            for (var o = rela.Offset; o + 24 <= rela.Offset + rela.Size; o += 24)
            {
                var sym = (int)(U64(o + 8) >> 32);
                if (sym == 0 || sym >= symbolCount) continue;
                if ((U16(versym.Offset + sym * 2) & 0x7fff) == versionIndex)
                    used.Add(Str(strtab, (int)U32(dynsym.Offset + sym * 24)));
            }
        }
        return used.ToList();
    }

    internal ushort U16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(Span(offset, 2));
    private uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(Span(offset, 4));
    private ulong U64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(Span(offset, 8));

    private ReadOnlySpan<byte> Span(int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > _bytes.Length)
            throw new ElfFormatException($"{Name}: a structure at byte {offset} runs past the end of the file (truncated?).");
        return _bytes.AsSpan(offset, length);
    }

    private string Str(Section strtab, int index)
    {
        var table = Span(strtab.Offset, strtab.Size);
        if (index < 0 || index >= table.Length) throw new ElfFormatException($"{Name}: string index {index} is outside its string table.");
        var length = table[index..].IndexOf((byte)0);
        if (length < 0) throw new ElfFormatException($"{Name}: unterminated string in the string table.");
        return Encoding.ASCII.GetString(table.Slice(index, length));
    }

    private Section Linked(Section s) =>
        s.Link < _sections.Length ? _sections[s.Link] : throw new ElfFormatException($"{Name}: a section links to section {s.Link}, which does not exist.");

    private Section? FindSection(uint type)
    {
        foreach (var s in _sections) if (s.Type == type) return s;
        return null;
    }

    private readonly record struct Section(uint Type, int Offset, int Size, uint Link);
}

/// <summary>One required symbol version (an <c>Elf64_Vernaux</c>), e.g. GLIBCXX_3.4.32 from libstdc++.so.6.</summary>
/// <param name="File">The library the version is required from.</param>
/// <param name="Version">The version name.</param>
/// <param name="Flags"><c>vna_flags</c>; bit 0x2 (VER_FLG_WEAK) makes a missing version a non-fatal condition.</param>
/// <param name="Index">The version index that <c>.gnu.version</c> uses for symbols bound to this version.</param>
/// <param name="FlagsOffset">Byte offset of <c>vna_flags</c> in the file.</param>
public sealed record VersionNeed(string File, string Version, ushort Flags, ushort Index, int FlagsOffset)
{
    /// <summary>ELF's VER_FLG_WEAK.</summary>
    public const ushort WeakFlag = 0x2;

    /// <summary>True when a host that lacks this version can still load the object.</summary>
    public bool IsWeak => (Flags & WeakFlag) != 0;
}

/// <summary>The file is not an ELF object this tool understands, or is damaged.</summary>
public sealed class ElfFormatException(string message) : Exception(message);
