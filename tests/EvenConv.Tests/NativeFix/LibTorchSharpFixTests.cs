using System.Runtime.Versioning;
using EvenConv.NativeFix;

namespace EvenConv.Tests.NativeFix;

/// <summary>The fix is for Linux shared objects; file modes are Unix ones.</summary>
[SupportedOSPlatform("linux")]
public sealed class LibTorchSharpFixTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("evenconv-nativefix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlySet<string> Host(bool hasNewVersion) => ElfFile.Parse(ElfFixture.HostStdCxx(hasNewVersion).Build()).VersionDefinitions();

    private string Library(string relativeDir = "", bool relocateNewSymbol = false)
    {
        var path = Path.Combine(_dir, relativeDir, LibTorchSharpFix.LibraryName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, ElfFixture.LibTorchSharpLike(relocateNewSymbol).Build());
        return path;
    }

    [Fact]
    public void Patches_once_then_reports_already_patched_and_keeps_the_file_mode()
    {
        var path = Library();
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, mode);
        var original = File.ReadAllBytes(path);

        Assert.Equal(FixOutcome.Patched, LibTorchSharpFix.Ensure(path, Host(hasNewVersion: false)));
        var patched = File.ReadAllBytes(path);
        var elf = ElfFile.Parse(original);
        Assert.Equal(VersionNeedPatcher.Apply(elf, VersionNeedPatcher.Plan(elf, ElfFixture.StdCxx, Host(hasNewVersion: false))), patched);
        Assert.Equal(mode, File.GetUnixFileMode(path));
        Assert.Equal([path], Directory.GetFiles(_dir)); // the temporary copy was renamed over the original

        Assert.Equal(FixOutcome.AlreadyPatched, LibTorchSharpFix.Ensure(path, Host(hasNewVersion: false)));
        Assert.Equal(patched, File.ReadAllBytes(path));
    }

    [Fact]
    public void Leaves_the_file_alone_when_the_host_has_the_version()
    {
        var path = Library();
        var before = File.ReadAllBytes(path);
        Assert.Equal(FixOutcome.NotNeeded, LibTorchSharpFix.Ensure(path, Host(hasNewVersion: true)));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Refuses_and_leaves_the_file_alone_when_a_relocation_needs_the_missing_version()
    {
        var path = Library(relocateNewSymbol: true);
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<NativeFixException>(() => LibTorchSharpFix.Ensure(path, Host(hasNewVersion: false)));
        Assert.Contains(path, e.Message);
        Assert.Contains(ElfFixture.NewSymbol, e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Never_patches_inside_the_NuGet_cache()
    {
        var saved = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        Environment.SetEnvironmentVariable("NUGET_PACKAGES", Path.Combine(_dir, "packages"));
        try
        {
            var inCache = Library("packages/torchsharp/0.107.0/runtimes/linux-x64/native");
            var before = File.ReadAllBytes(inCache);
            var e = Assert.Throws<NativeFixException>(() => LibTorchSharpFix.Ensure(inCache, Host(hasNewVersion: false)));
            Assert.StartsWith($"{inCache} is inside the NuGet package cache", e.Message);
            Assert.Contains("build output folder", e.Message);
            Assert.Equal(before, File.ReadAllBytes(inCache));

            // A sibling folder whose name merely starts with the cache's is not the cache.
            Assert.Equal(FixOutcome.Patched, LibTorchSharpFix.Ensure(Library("packages-output"), Host(hasNewVersion: false)));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", saved);
        }
    }

    [Fact]
    public void A_truncated_library_is_refused_naming_the_file()
    {
        var path = Library();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<ElfFormatException>(() => LibTorchSharpFix.Ensure(path, Host(hasNewVersion: false)));
        Assert.StartsWith($"{path}: ", e.Message);
    }

    [Fact]
    public void Finds_the_library_at_the_output_root_and_under_runtimes()
    {
        Assert.Empty(LibTorchSharpFix.FindIn(_dir));
        var nested = Library("runtimes/linux-x64/native");
        var root = Library();
        Assert.Equal([root, nested], LibTorchSharpFix.FindIn(_dir));
    }

    [Fact]
    public void The_host_libstdcxx_can_be_named_by_EVENCONV_LIBSTDCXX()
    {
        var host = Path.Combine(_dir, "libstdc++.so.6");
        File.WriteAllBytes(host, ElfFixture.HostStdCxx(hasNewVersion: false).Build());
        var saved = Environment.GetEnvironmentVariable("EVENCONV_LIBSTDCXX");
        Environment.SetEnvironmentVariable("EVENCONV_LIBSTDCXX", host);
        try
        {
            Assert.Equal(host, LibTorchSharpFix.HostStdCxxPath());
            Assert.Equal(Host(hasNewVersion: false), LibTorchSharpFix.HostStdCxxVersions());
        }
        finally
        {
            Environment.SetEnvironmentVariable("EVENCONV_LIBSTDCXX", saved);
        }
    }

    [Fact]
    public void The_build_left_no_strong_need_the_host_lacks_in_the_real_library()
    {
        var copies = LibTorchSharpFix.FindIn(AppContext.BaseDirectory).ToList();
        Assert.NotEmpty(copies);
        var host = LibTorchSharpFix.HostStdCxxVersions();
        foreach (var path in copies)
        {
            var needs = ElfFile.Read(path).VersionNeeds().Where(n => n.File == ElfFixture.StdCxx).ToList();
            Assert.Contains(needs, n => n.Version == ElfFixture.NewVersion); // TorchSharp 0.107 was linked against GCC 13
            Assert.All(needs.Where(n => !host.Contains(n.Version)), n => Assert.True(n.IsWeak, $"{path}: {n.Version} is missing on this host and not weak"));
        }
    }
}
