using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace EvenConv.Ops.Routing;

/// <summary>What became of one <see cref="ProbeCase"/> in a probe process.</summary>
/// <param name="Case">The convolution tried.</param>
/// <param name="Survived">Whether the process lived through it.</param>
/// <param name="Error">Its largest error relative to float64 (<see cref="ProbeCase.Run"/>); NaN when it died.</param>
/// <param name="Failure">How the process died (e.g. "SIGFPE"), or null.</param>
public sealed record ProbeResult(ProbeCase Case, bool Survived, double Error, string? Failure = null)
{
    /// <summary>Survived and computed the right values: libtorch's convolution is safe to use for this case.</summary>
    public bool Healthy => Survived && Error <= ProbeCase.Tolerance;

    /// <summary>"SIGFPE", "wrong values (relative error 0.14)", or "ok".</summary>
    public string Verdict => !Survived ? Failure ?? "died" : Healthy ? "ok" : $"wrong values (relative error {Error:G2})";
}

/// <summary>The probe process could not be started or did not answer; the message says why.</summary>
public sealed class ProbeUnavailableException(string message) : Exception(message);

/// <summary>
/// Tries libtorch convolutions in a child process and checks their values, so that a primitive that kills its process (oneDNN's SIGFPE on
/// some hosts) kills the child instead. The child is this same application, started again with
/// <c>DOTNET_STARTUP_HOOKS</c> naming the EvenConv assembly: its <c>StartupHook</c> runs the cases and exits before
/// the application's own <c>Main</c>, so this works for any app that references EvenConv (the CLI, a test host,
/// a user's program) without a helper executable. The child reports each case before and after running it; when
/// it dies, the case it had started is recorded as fatal and a new child continues with the rest.
/// </summary>
public static class PrimitiveProbe
{
    /// <summary>Set in the child: the cases to run, separated by ';'.</summary>
    public const string CasesVariable = "EVENCONV_PROBE_CASES";

    /// <summary>Set in the child: libtorch's intra-op thread count (oneDNN's blocking depends on it).</summary>
    public const string ThreadsVariable = "EVENCONV_PROBE_THREADS";

    /// <summary>Fault injection for tests: the child raises SIGFPE instead of running the case named here.</summary>
    public const string FaultVariable = "EVENCONV_PROBE_FAULT";

    /// <summary>Runs <paramref name="cases"/> in child processes with <paramref name="threads"/> intra-op threads and
    /// returns one result per case, in order.</summary>
    /// <exception cref="ProbeUnavailableException">No child could be started, or one hung past <paramref name="timeout"/>.</exception>
    public static IReadOnlyList<ProbeResult> Run(IReadOnlyList<ProbeCase> cases, int threads, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        var results = new List<ProbeResult>(cases.Count);
        while (results.Count < cases.Count)
        {
            var pending = cases.Skip(results.Count).ToList();
            var child = RunChild(pending, threads, timeout ?? TimeSpan.FromSeconds(120), extraEnvironment);
            results.AddRange(pending.Zip(child.Errors, (c, e) => new ProbeResult(c, true, e)));
            if (child.Errors.Count < pending.Count)
                results.Add(new ProbeResult(pending[child.Errors.Count], false, double.NaN, child.Failure));
        }
        return results;
    }

    private sealed record ChildOutcome(IReadOnlyList<double> Errors, string Failure);

    private static ChildOutcome RunChild(IReadOnlyList<ProbeCase> cases, int threads, TimeSpan timeout, IReadOnlyDictionary<string, string>? extra)
    {
        var (file, arguments) = OwnCommandLine();
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["DOTNET_STARTUP_HOOKS"] = typeof(PrimitiveProbe).Assembly.Location;
        start.Environment[CasesVariable] = string.Join(';', cases);
        start.Environment[ThreadsVariable] = threads.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) start.Environment[k] = v;

        using var process = Process.Start(start) ?? throw new ProbeUnavailableException($"could not start the probe process '{file}'.");
        var error = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line && error.Length < 4000) error.AppendLine(line); };
        process.BeginErrorReadLine();
        var readOutput = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new ProbeUnavailableException($"the probe process did not finish within {timeout.TotalSeconds:F0} s.");
        }
        process.WaitForExit();
        var lines = readOutput.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!lines.Contains(ProbeChild.ReadyLine))
            throw new ProbeUnavailableException($"the probe process ({file}) exited with {Describe(process.ExitCode)} before it could run a case (startup hooks disabled?). {error.ToString().Trim()}");
        // "done CASE ERROR" for each case that finished.
        var errors = lines.Where(l => l.StartsWith(ProbeChild.DoneLine, StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ')[^1], CultureInfo.InvariantCulture)).ToList();
        if (process.ExitCode == 0 && errors.Count < cases.Count)
            throw new ProbeUnavailableException($"the probe process exited normally after {errors.Count} of {cases.Count} cases. {error.ToString().Trim()}");
        return new ChildOutcome(errors, Describe(process.ExitCode));
    }

    /// <summary>This process's executable and arguments, from /proc/self/cmdline (the runtime host and, under
    /// <c>dotnet</c>, the application's assembly and its options).</summary>
    private static (string File, string[] Arguments) OwnCommandLine()
    {
        string[] parts;
        try { parts = File.ReadAllText("/proc/self/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (IOException e) { throw new ProbeUnavailableException($"cannot read this process's command line: {e.Message}"); }
        var file = Environment.ProcessPath ?? (parts.Length > 0 ? parts[0] : throw new ProbeUnavailableException("this process has no command line."));
        return (file, parts.Skip(1).ToArray());
    }

    /// <summary>"SIGFPE" for 136, "exit code N" for an ordinary exit.</summary>
    public static string Describe(int exitCode) => exitCode switch
    {
        132 => "SIGILL",
        134 => "SIGABRT",
        135 => "SIGBUS",
        136 => "SIGFPE",
        137 => "SIGKILL",
        139 => "SIGSEGV",
        _ => $"exit code {exitCode}",
    };
}
