using EvenConv.NativeFix;

namespace EvenConv.Tests.NativeFix;

public class VersionNeedPatcherTests
{
    private static IReadOnlySet<string> Host(bool hasNewVersion) => ElfFile.Parse(ElfFixture.HostStdCxx(hasNewVersion).Build()).VersionDefinitions();

    [Fact]
    public void Plans_to_weaken_only_the_libstdcxx_versions_the_host_lacks()
    {
        var plan = VersionNeedPatcher.Plan(ElfFile.Parse(ElfFixture.LibTorchSharpLike().Build()), ElfFixture.StdCxx, Host(hasNewVersion: false));
        Assert.Equal([ElfFixture.NewVersion], plan.Missing.Select(n => n.Version));
        Assert.Equal(plan.Missing, plan.ToWeaken);
        Assert.False(plan.NothingToDo);
    }

    [Fact]
    public void Plans_nothing_when_the_host_has_every_version()
    {
        var plan = VersionNeedPatcher.Plan(ElfFile.Parse(ElfFixture.LibTorchSharpLike().Build()), ElfFixture.StdCxx, Host(hasNewVersion: true));
        Assert.Empty(plan.Missing);
        Assert.True(plan.NothingToDo);
    }

    [Fact]
    public void Apply_sets_exactly_the_weak_bit_of_the_missing_need_and_changes_no_other_byte()
    {
        var original = ElfFixture.LibTorchSharpLike().Build();
        var elf = ElfFile.Parse(original);
        var plan = VersionNeedPatcher.Plan(elf, ElfFixture.StdCxx, Host(hasNewVersion: false));
        var patched = VersionNeedPatcher.Apply(elf, plan);

        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.Equal([plan.ToWeaken[0].FlagsOffset], changed);
        Assert.Equal(VersionNeed.WeakFlag, original[changed[0]] ^ patched[changed[0]]);

        var after = ElfFile.Parse(patched).VersionNeeds();
        Assert.Equal([ElfFixture.NewVersion], after.Where(n => n.IsWeak).Select(n => n.Version));
        Assert.Equal(elf.VersionNeeds().Select(n => n with { Flags = 0 }), after.Select(n => n with { Flags = 0 }));

        // Patched once, it needs nothing more: the missing version is still missing, but weak.
        var again = VersionNeedPatcher.Plan(ElfFile.Parse(patched), ElfFixture.StdCxx, Host(hasNewVersion: false));
        Assert.Single(again.Missing);
        Assert.True(again.NothingToDo);
        Assert.Equal(patched, VersionNeedPatcher.Apply(ElfFile.Parse(patched), again));
    }

    [Fact]
    public void Refuses_when_a_relocation_uses_a_symbol_of_the_missing_version()
    {
        var elf = ElfFile.Parse(ElfFixture.LibTorchSharpLike(relocateNewSymbol: true).Build(), "uses-new-symbol.so");
        var e = Assert.Throws<NativeFixException>(() => VersionNeedPatcher.Plan(elf, ElfFixture.StdCxx, Host(hasNewVersion: false)));
        Assert.Contains("uses-new-symbol.so needs GLIBCXX_3.4.32 from libstdc++.so.6", e.Message);
        Assert.Contains(ElfFixture.NewSymbol, e.Message);
        Assert.Contains("Install a newer libstdc++.so.6", e.Message);
        // The same file is fine on a host that has the version.
        Assert.True(VersionNeedPatcher.Plan(elf, ElfFixture.StdCxx, Host(hasNewVersion: true)).NothingToDo);
    }
}
