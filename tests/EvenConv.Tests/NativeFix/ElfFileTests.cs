using System.Text;
using EvenConv.NativeFix;

namespace EvenConv.Tests.NativeFix;

public class ElfFileTests
{
    [Fact]
    public void Reads_every_version_need_with_its_library_index_and_flags_offset()
    {
        var fixture = ElfFixture.LibTorchSharpLike();
        var bytes = fixture.Build();
        var needs = ElfFile.Parse(bytes, "fixture.so").VersionNeeds();
        (string File, string Version)[] expected =
        [
            ("libc.so.6", "GLIBC_2.2.5"), ("libc.so.6", "GLIBC_2.34"),
            (ElfFixture.StdCxx, "GLIBCXX_3.4"), (ElfFixture.StdCxx, ElfFixture.NewVersion), (ElfFixture.StdCxx, "CXXABI_1.3"),
        ];
        Assert.Equal(expected, needs.Select(n => (n.File, n.Version)));
        Assert.All(needs, n =>
        {
            Assert.Equal(fixture.IndexOf(n.Version), n.Index);
            Assert.Equal(0, n.Flags);
            Assert.False(n.IsWeak);
            // vna_flags is followed by vna_other, the version index: the offset points into the right record.
            Assert.Equal(n.Index, BitConverter.ToUInt16(bytes, n.FlagsOffset + 2));
        });
    }

    [Fact]
    public void Reads_the_versions_a_library_defines()
    {
        var defined = ElfFile.Parse(ElfFixture.HostStdCxx(hasNewVersion: false).Build()).VersionDefinitions();
        Assert.Equal(["CXXABI_1.3", "GLIBCXX_3.4", "GLIBCXX_3.4.30", ElfFixture.StdCxx], defined.Order(StringComparer.Ordinal));
        Assert.Empty(ElfFile.Parse(ElfFixture.LibTorchSharpLike().Build()).VersionDefinitions());
        Assert.Empty(ElfFile.Parse(ElfFixture.HostStdCxx(hasNewVersion: true).Build()).VersionNeeds());
    }

    [Fact]
    public void Finds_the_relocated_symbols_of_a_version()
    {
        var fixture = ElfFixture.LibTorchSharpLike();
        var elf = ElfFile.Parse(fixture.Build());
        Assert.Empty(elf.RelocatedSymbolsOfVersion(fixture.IndexOf(ElfFixture.NewVersion)));
        Assert.Equal(["_ZNSt8ios_base4InitC1Ev"], elf.RelocatedSymbolsOfVersion(fixture.IndexOf("GLIBCXX_3.4")));
        Assert.Empty(elf.RelocatedSymbolsOfVersion(fixture.IndexOf("GLIBC_2.34")));

        var used = ElfFixture.LibTorchSharpLike(relocateNewSymbol: true);
        Assert.Equal([ElfFixture.NewSymbol], ElfFile.Parse(used.Build()).RelocatedSymbolsOfVersion(used.IndexOf(ElfFixture.NewVersion)));
    }

    [Fact]
    public void Non_ELF_and_foreign_ELF_input_is_refused_naming_the_file()
    {
        var text = Assert.Throws<ElfFormatException>(() => ElfFile.Parse(Encoding.ASCII.GetBytes(new string('x', 100)), "notes.txt"));
        Assert.Equal("notes.txt: not an ELF file (bad magic).", text.Message);
        Assert.Contains("empty.so", Assert.Throws<ElfFormatException>(() => ElfFile.Parse([], "empty.so")).Message);

        var bigEndian = ElfFixture.LibTorchSharpLike().Build();
        bigEndian[5] = 2;
        Assert.Contains("only little-endian 64-bit", Assert.Throws<ElfFormatException>(() => ElfFile.Parse(bigEndian, "be.so")).Message);

        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "#!/bin/sh\necho not a library, but long enough to have an ELF header's worth of bytes in it\n");
            Assert.StartsWith($"{path}: not an ELF file", Assert.Throws<ElfFormatException>(() => ElfFile.Read(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_file_cut_at_any_length_is_refused_naming_the_file()
    {
        var bytes = ElfFixture.LibTorchSharpLike().Build();
        for (var length = 0; length < bytes.Length; length++)
        {
            var e = Assert.Throws<ElfFormatException>(() => ReadEverything(bytes[..length], "cut.so"));
            Assert.StartsWith("cut.so: ", e.Message);
        }
    }

    [Theory, InlineData(0xff), InlineData(0x7f), InlineData(0x80)]
    public void A_corrupt_field_anywhere_gives_an_ElfFormatException_or_a_valid_reading(byte fill)
    {
        // Overwrite each 4-byte word in turn; the reader must never fail with anything but its own format error.
        var good = ElfFixture.LibTorchSharpLike().Build();
        for (var at = 0; at + 4 <= good.Length; at += 4)
        {
            var bytes = (byte[])good.Clone();
            bytes.AsSpan(at, 4).Fill(fill);
            try
            {
                ReadEverything(bytes, "corrupt.so");
            }
            catch (ElfFormatException e)
            {
                Assert.StartsWith("corrupt.so: ", e.Message);
            }
            catch (Exception e)
            {
                Assert.Fail($"bytes {at}..{at + 3} set to 0x{fill:x2}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private static void ReadEverything(byte[] bytes, string name)
    {
        var elf = ElfFile.Parse(bytes, name);
        elf.VersionDefinitions();
        foreach (var need in elf.VersionNeeds()) elf.RelocatedSymbolsOfVersion(need.Index);
    }
}
