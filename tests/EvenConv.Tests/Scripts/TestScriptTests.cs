using System.Diagnostics;
using System.Xml.Linq;

namespace EvenConv.Tests.Scripts;

/// <summary>
/// ./test's crash handling (scripts/test-lib.sh), on a throw-away xunit project written here: three tests, one of which
/// kills its test host with SIGFPE (as oneDNN does) when CRASH_CHECK_DIE=1. The crashed run must fail, name that test
/// and count the tests that never ran; the same project without the crash must end with a clean summary.
/// </summary>
public sealed class TestScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("evenconv-crash-check-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_crashed_test_host_fails_the_run_names_the_running_test_and_counts_what_did_not_run()
    {
        var project = WriteProject();

        var clean = RunTestLib(project, crash: false);
        Assert.True(clean.ExitCode == 0, clean.Output);
        Assert.Contains("tests: 4 passed, 0 failed, 0 skipped", clean.Output, StringComparison.Ordinal);

        var crashed = RunTestLib(project, crash: true, "--no-build");
        Assert.NotEqual(0, crashed.ExitCode);
        Assert.Contains("crashed while running: CrashCheck.Dies.With_sigfpe", crashed.Output, StringComparison.Ordinal);
        // xunit picks the class order: the crashing test may run first or last. Discovery lists 4; every one of them
        // either started (the crashing one included) or is counted as not run.
        var counts = System.Text.RegularExpressions.Regex.Match(crashed.Output, @"tests: (\d) of 4 listed tests started before the crash; (\d) did not run");
        Assert.True(counts.Success, crashed.Output);
        var (started, missing) = (int.Parse(counts.Groups[1].Value), int.Parse(counts.Groups[2].Value));
        Assert.Equal(4, started + missing);
        Assert.InRange(started, 1, 4);
        Assert.Matches(missing > 0 ? $@"tests: \d passed, 1 failed, 0 skipped, {missing} did not run" : @"tests: \d passed, 1 failed, 0 skipped", crashed.Output);
        Assert.DoesNotContain("tests: 4 passed", crashed.Output, StringComparison.Ordinal);
    }

    private string WriteProject()
    {
        var versions = XDocument.Load(Path.Combine(RepositoryRoot(), "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!);
        string Reference(string name) => $"""<PackageReference Include="{name}" Version="{versions[name]}" />""";
        File.WriteAllText(Path.Combine(_dir, "CrashCheck.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><IsTestProject>true</IsTestProject><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <ItemGroup>
                {Reference("Microsoft.NET.Test.Sdk")}
                {Reference("xunit")}
                {Reference("xunit.runner.visualstudio")}
                <Compile Include="{Path.Combine(RepositoryRoot(), "tests", "EvenConv.Tests", "TestJournal.cs")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_dir, "Tests.cs"), """
            using System.Runtime.InteropServices;
            using Xunit;
            namespace CrashCheck;
            public class Before { [Fact] public void Passes() { } [Theory, InlineData(1), InlineData(2)] public void Rows(int x) => Assert.True(x > 0); }
            public class Dies
            {
                [DllImport("libc")] private static extern nint signal(int signal, nint handler);
                [DllImport("libc")] private static extern int raise(int signal);
                // The runtime's own SIGFPE handler is reset first, so the process dies as it does in native code.
                [Fact] public void With_sigfpe() { if (Environment.GetEnvironmentVariable("CRASH_CHECK_DIE") == "1") { signal(8, 0); raise(8); } }
            }
            """);
        return Path.Combine(_dir, "CrashCheck.csproj");
    }

    private static (int ExitCode, string Output) RunTestLib(string project, bool crash, params string[] options)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""source "$1"; shift; run_tests "crash check" "$@"; print_summary""");
        start.ArgumentList.Add("bash");
        start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "test-lib.sh"));
        start.ArgumentList.Add(project);
        foreach (var o in options) start.ArgumentList.Add(o);
        start.Environment["CRASH_CHECK_DIE"] = crash ? "1" : "0";
        start.Environment.Remove("EVENCONV_TEST_JOURNAL");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", ".."));
}
