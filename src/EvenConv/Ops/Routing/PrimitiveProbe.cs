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
/// Tries libtorch convolutions in a child process and checks their values, so that a primitive that kills its process
/// (oneDNN's SIGFPE on some hosts) kills the child instead. The child is this same application, started again with
/// <c>DOTNET_STARTUP_HOOKS</c> naming the EvenConv assembly: its <c>StartupHook</c> serves cases and exits before the
/// application's own <c>Main</c>, so this works for any app that references EvenConv (the CLI, a test host, a user's
/// program) without a helper executable. A session keeps one child: it reads a case per line on standard input and
/// answers each with its error, so a case costs the convolution, not a process start (about a second); when the
/// child dies, the case it was given is recorded with the signal, and the next case starts a new child.
/// </summary>
public sealed class PrimitiveProbe : IDisposable
{
    /// <summary>Set in the child: marks it as a probe child.</summary>
    public const string ChildVariable = "EVENCONV_PROBE_CHILD";

    /// <summary>Set in the child: libtorch's intra-op thread count (oneDNN's blocking depends on it).</summary>
    public const string ThreadsVariable = "EVENCONV_PROBE_THREADS";

    /// <summary>Fault injection for tests: the child raises SIGFPE instead of running the case named here.</summary>
    public const string FaultVariable = "EVENCONV_PROBE_FAULT";

    private readonly int _threads;
    private readonly TimeSpan _timeout;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _child;
    private readonly StringBuilder _errorOutput = new();

    /// <summary>A session whose children run with <paramref name="threads"/> intra-op threads; a case that takes
    /// longer than <paramref name="timeout"/> (default 2 minutes) ends the session.</summary>
    public PrimitiveProbe(int threads, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        _threads = threads;
        _timeout = timeout ?? TimeSpan.FromMinutes(2);
        _environment = extraEnvironment ?? new Dictionary<string, string>();
    }

    /// <summary>Runs <paramref name="cases"/> in one session and returns one result per case, in order.</summary>
    /// <exception cref="ProbeUnavailableException">No child could be started, or a case hung.</exception>
    public static IReadOnlyList<ProbeResult> Run(IReadOnlyList<ProbeCase> cases, int threads, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        using var probe = new PrimitiveProbe(threads, timeout, extraEnvironment);
        return cases.Select(probe.Check).ToList();
    }

    /// <summary>Runs one case in the session's child (starting one if needed).</summary>
    /// <exception cref="ProbeUnavailableException">No child could be started, or the case hung.</exception>
    public ProbeResult Check(ProbeCase probeCase)
    {
        var child = _child ??= StartChild();
        child.StandardInput.WriteLine(probeCase.ToString());
        child.StandardInput.Flush();
        var line = ReadLine(child);
        if (line is not null && line.StartsWith(ProbeChild.DoneLine, StringComparison.Ordinal))
            return new ProbeResult(probeCase, true, double.Parse(line.Split(' ')[^1], CultureInfo.InvariantCulture));
        // End of output: the child died on this case.
        child.WaitForExit();
        var failure = Describe(child.ExitCode);
        EndChild();
        if (failure.StartsWith("exit code", StringComparison.Ordinal))
            throw new ProbeUnavailableException($"the probe process ended with {failure} on {probeCase}: {_errorOutput.ToString().Trim()}");
        return new ProbeResult(probeCase, false, double.NaN, failure);
    }

    public void Dispose() => EndChild();

    /// <summary>The child's next protocol line (other output, e.g. a library's notice on stdout, is skipped), or null
    /// at the end of its output.</summary>
    private string? ReadLine(Process child)
    {
        while (true)
        {
            var read = child.StandardOutput.ReadLineAsync();
            if (!read.Wait(_timeout))
            {
                EndChild();
                throw new ProbeUnavailableException($"the probe process did not answer within {_timeout.TotalSeconds:F0} s.");
            }
            if (read.Result is null || read.Result.StartsWith(ProbeChild.Prefix, StringComparison.Ordinal)) return read.Result;
        }
    }

    private Process StartChild()
    {
        var (file, arguments) = OwnCommandLine();
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["DOTNET_STARTUP_HOOKS"] = typeof(PrimitiveProbe).Assembly.Location;
        start.Environment[ChildVariable] = "1";
        start.Environment[ThreadsVariable] = _threads.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in _environment) start.Environment[k] = v;

        var child = Process.Start(start) ?? throw new ProbeUnavailableException($"could not start the probe process '{file}'.");
        _errorOutput.Clear();
        child.ErrorDataReceived += (_, e) => { if (e.Data is { } line && _errorOutput.Length < 4000) _errorOutput.AppendLine(line); };
        child.BeginErrorReadLine();
        _child = child;
        if (ReadLine(child) != ProbeChild.ReadyLine)
        {
            child.WaitForExit(_timeout);
            var code = child.HasExited ? Describe(child.ExitCode) : "no answer";
            EndChild();
            throw new ProbeUnavailableException($"the probe process ({file}) ended with {code} before it could run a case (startup hooks disabled?). {_errorOutput.ToString().Trim()}");
        }
        return child;
    }

    private void EndChild()
    {
        if (_child is null) return;
        try
        {
            if (!_child.HasExited)
            {
                _child.StandardInput.Close(); // end of input: the child exits
                if (!_child.WaitForExit(TimeSpan.FromSeconds(10))) _child.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException) { }
        _child.Dispose();
        _child = null;
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
