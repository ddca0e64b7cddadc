using System.Buffers.Binary;
using System.Text;

namespace EvenConv.Tests.NativeFix;

/// <summary>
/// Builds a small, valid little-endian ELF64 shared object with only what symbol versioning uses: .dynstr, .dynsym,
/// .gnu.version, .gnu.version_r (needs), .gnu.version_d (definitions), .rela.dyn and .shstrtab. The section header
/// table sits right after the ELF and program headers, so cutting the file anywhere past it cuts a section's data.
/// </summary>
internal sealed class ElfFixture
{
    public const string StdCxx = "libstdc++.so.6";
    public const string NewVersion = "GLIBCXX_3.4.32";
    public const string NewSymbol = "_ZSt21ios_base_library_initv";

    private readonly List<(string File, string[] Versions)> _needs = [];
    private readonly List<(string Name, string Version, bool Relocated)> _symbols = [];
    private string? _soname;
    private string[] _definitions = [];

    /// <summary>The shape of TorchSharp 0.107's libLibTorchSharp.so: it needs GLIBCXX_3.4.32 for one symbol that
    /// no relocation uses (or, with <paramref name="relocateNewSymbol"/>, one that a relocation does use).</summary>
    public static ElfFixture LibTorchSharpLike(bool relocateNewSymbol = false) => new ElfFixture()
        .Needs("libc.so.6", "GLIBC_2.2.5", "GLIBC_2.34")
        .Needs(StdCxx, "GLIBCXX_3.4", NewVersion, "CXXABI_1.3")
        .Symbol("malloc", "GLIBC_2.2.5", relocated: true)
        .Symbol("_ZNSt8ios_base4InitC1Ev", "GLIBCXX_3.4", relocated: true)
        .Symbol(NewSymbol, NewVersion, relocated: relocateNewSymbol)
        .Symbol("__cxa_begin_catch", "CXXABI_1.3", relocated: true);

    /// <summary>A libstdc++ that defines the given versions, as Debian 12's (3.4.30) or a newer one.</summary>
    public static ElfFixture HostStdCxx(bool hasNewVersion) => new ElfFixture()
        .Defines(StdCxx, hasNewVersion ? ["GLIBCXX_3.4", "GLIBCXX_3.4.30", "GLIBCXX_3.4.31", NewVersion, "CXXABI_1.3"] : ["GLIBCXX_3.4", "GLIBCXX_3.4.30", "CXXABI_1.3"]);

    public ElfFixture Needs(string file, params string[] versions)
    {
        _needs.Add((file, versions));
        return this;
    }

    public ElfFixture Defines(string soname, string[] versions)
    {
        _soname = soname;
        _definitions = versions;
        return this;
    }

    public ElfFixture Symbol(string name, string version, bool relocated)
    {
        _symbols.Add((name, version, relocated));
        return this;
    }

    /// <summary>Version indices as .gnu.version uses them: 1 is the object itself, then definitions, then needs.</summary>
    public ushort IndexOf(string version)
    {
        var all = _definitions.Concat(_needs.SelectMany(n => n.Versions)).ToList();
        var i = all.IndexOf(version);
        return i < 0 ? throw new ArgumentException($"unknown version {version}") : (ushort)(i + 2);
    }

    public byte[] Build()
    {
        var dynstr = new StringTable();
        var dynsym = new Writer();
        var versym = new Writer();
        dynsym.Zeros(24);
        versym.U16(0);
        foreach (var (name, version, _) in _symbols)
        {
            dynsym.U32(dynstr.Add(name)).U8(0x12).U8(0).U16(0).U64(0).U64(0); // global function, undefined
            versym.U16(IndexOf(version));
        }

        var verneed = new Writer();
        foreach (var (need, n) in _needs.Select((need, n) => (need, n)))
        {
            var last = n == _needs.Count - 1;
            verneed.U16(1).U16((ushort)need.Versions.Length).U32(dynstr.Add(need.File)).U32(16).U32(last ? 0u : 16u + 16u * (uint)need.Versions.Length);
            for (var j = 0; j < need.Versions.Length; j++)
                verneed.U32(Hash(need.Versions[j])).U16(0).U16(IndexOf(need.Versions[j])).U32(dynstr.Add(need.Versions[j])).U32(j == need.Versions.Length - 1 ? 0u : 16u);
        }

        var verdef = new Writer();
        string[] defined = _soname is null ? [] : [_soname, .. _definitions];
        for (var d = 0; d < defined.Length; d++)
        {
            verdef.U16(1).U16((ushort)(d == 0 ? 1 : 0)).U16((ushort)(d + 1)).U16(1).U32(Hash(defined[d])).U32(20).U32(d == defined.Length - 1 ? 0u : 28u);
            verdef.U32(dynstr.Add(defined[d])).U32(0);
        }

        var rela = new Writer();
        rela.U64(0x3000).U64(8).U64(0x1000); // R_X86_64_RELATIVE: no symbol
        for (var s = 0; s < _symbols.Count; s++)
            if (_symbols[s].Relocated)
                rela.U64(0x3008 + 8 * (ulong)s).U64(((ulong)(s + 1) << 32) | 6).U64(0); // R_X86_64_GLOB_DAT

        // .dynstr, .dynsym and .gnu.version come first so the links (1 and 2) hold; empty tables are left out.
        var shstr = new StringTable();
        (string Name, uint Type, byte[] Data, uint Link, uint Info, ulong EntrySize)[] sections =
        [
            .. new (string, uint, byte[], uint, uint, ulong)[]
            {
                (".dynstr", 3, dynstr.Bytes(), 0, 0, 0),
                (".dynsym", 11, dynsym.Bytes(), 1, 1, 24),
                (".gnu.version", 0x6fffffff, versym.Bytes(), 2, 0, 2),
                (".gnu.version_r", 0x6ffffffe, verneed.Bytes(), 1, (uint)_needs.Count, 0),
                (".gnu.version_d", 0x6ffffffd, verdef.Bytes(), 1, (uint)defined.Length, 0),
                (".rela.dyn", 4, rela.Bytes(), 2, 0, 24),
            }.Where(s => s.Item3.Length > 0),
        ];
        var names = sections.Select(s => shstr.Add(s.Name)).Append(shstr.Add(".shstrtab")).ToArray();
        var shstrtab = shstr.Bytes();

        // ELF header, one PT_LOAD program header mapping the whole file at address 0, section headers, section data.
        const int headerTable = 64 + 56;
        var shnum = sections.Length + 2;
        var offset = headerTable + 64 * shnum;
        var offsets = new List<int>();
        foreach (var data in sections.Select(s => s.Data).Append(shstrtab))
        {
            offset = (offset + 7) & ~7;
            offsets.Add(offset);
            offset += data.Length;
        }
        var file = new Writer();
        file.U8(0x7f).U8((byte)'E').U8((byte)'L').U8((byte)'F').U8(2).U8(1).U8(1).U8(0).Zeros(8)
            .U16(3).U16(62).U32(1).U64(0).U64(64).U64(headerTable).U32(0)
            .U16(64).U16(56).U16(1).U16(64).U16((ushort)shnum).U16((ushort)(shnum - 1));
        file.U32(1).U32(4).U64(0).U64(0).U64(0).U64((ulong)offset).U64((ulong)offset).U64(0x1000);
        file.Zeros(64); // SHN_UNDEF
        for (var i = 0; i < sections.Length; i++)
        {
            var s = sections[i];
            SectionHeader(file, names[i], s.Type, offsets[i], s.Data.Length, s.Link, s.Info, s.EntrySize, flags: 2);
        }
        SectionHeader(file, names[^1], 3, offsets[^1], shstrtab.Length, 0, 0, 0, flags: 0);
        foreach (var (data, at) in sections.Select(s => s.Data).Append(shstrtab).Zip(offsets))
        {
            file.Zeros(at - file.Length);
            file.Raw(data);
        }
        return file.Bytes();
    }

    private static void SectionHeader(Writer w, uint name, uint type, int offset, int size, uint link, uint info, ulong entrySize, ulong flags) =>
        w.U32(name).U32(type).U64(flags).U64(flags == 0 ? 0 : (ulong)offset).U64((ulong)offset).U64((ulong)size).U32(link).U32(info).U64(8).U64(entrySize);

    /// <summary>The System V ELF hash that version entries carry.</summary>
    private static uint Hash(string name)
    {
        uint h = 0;
        foreach (var c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            var g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    private sealed class StringTable
    {
        private readonly Writer _bytes = new();
        private readonly Dictionary<string, uint> _index = [];

        public StringTable() => _bytes.U8(0);

        public uint Add(string s)
        {
            if (_index.TryGetValue(s, out var at)) return at;
            at = (uint)_bytes.Length;
            _bytes.Raw(Encoding.ASCII.GetBytes(s)).U8(0);
            return _index[s] = at;
        }

        public byte[] Bytes() => _bytes.Bytes();
    }

    private sealed class Writer
    {
        private readonly List<byte> _bytes = [];
        public int Length => _bytes.Count;
        public byte[] Bytes() => [.. _bytes];
        public Writer Raw(byte[] b) { _bytes.AddRange(b); return this; }
        public Writer Zeros(int n) => Raw(new byte[n]);
        public Writer U8(byte v) { _bytes.Add(v); return this; }
        public Writer U16(ushort v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); return Raw(b); }
        public Writer U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return Raw(b); }
        public Writer U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return Raw(b); }
    }
}
