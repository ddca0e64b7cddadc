using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EvenConv.IO;

namespace EvenConv.Ops.Routing;

/// <summary>The outcome of the host's probe: every case of <see cref="OneDnnHealth.Panel"/> and what became of it.</summary>
/// <param name="Signature">The host signature the report is cached under.</param>
/// <param name="Threads">libtorch's intra-op threads during the probe.</param>
/// <param name="Results">One per panel case.</param>
public sealed record OneDnnHealthReport(string Signature, int Threads, IReadOnlyList<ProbeResult> Results)
{
    /// <summary>True when every case survived with the right values: libtorch's convolutions are trusted here.</summary>
    public bool Healthy { get; } = Results.All(r => r.Healthy);

    /// <summary>The cases that killed their process or computed wrong values.</summary>
    public IEnumerable<ProbeResult> Unhealthy => Results.Where(r => !r.Healthy);

    /// <summary>Whether a 1×1 case failed: then no 1×1 convolution runs on oneDNN, whatever its shape's own check says.
    /// Seen here: N2 C32→40 on a 1×1 map made by average pooling, two threads, passed in the probe child and came out
    /// 50 % wrong in the process (the tensor's strides differ from the child's fresh one), so a per-shape pass is not
    /// proof for oneDNN's broken 1×1 path.</summary>
    public bool PointwiseBroken { get; } = Results.Any(r => !r.Healthy && r.Case.Kernel == 1);
}

/// <summary>
/// Whether libtorch's CPU convolutions (oneDNN) survive on this host. oneDNN's brgemm 1×1 convolution divides by zero
/// in its blocking heuristic (<c>brg_blocking_t::est_eff_1x1</c>) when the CPUID cache report is one it does not
/// expect — seen on a Zen 5 VM that reports a 508 MiB L3: channels_last 1×1 C512→1024 at 7×7, N1, kills the process
/// with SIGFPE, while NCHW and smaller shapes pass, and other shapes return wrong values (320→1280 at 1×2). A process
/// cannot survive the first, so a child process tries <see cref="Panel"/> once per host, checking each case against
/// float64, (<see cref="PrimitiveProbe"/>, about two seconds), and the report is cached on
/// disk under a signature of the CPU, the libtorch build, the thread count and oneDNN's environment variables.
/// </summary>
public static class OneDnnHealth
{
    /// <summary>Environment variable naming the cache folder (default <c>$XDG_CACHE_HOME/evenconv</c> or <c>~/.cache/evenconv</c>).</summary>
    public const string CacheVariable = "EVENCONV_CACHE_DIR";

    /// <summary>
    /// The convolutions the host probe tries. 1×1: the shapes known to crash, the 1×1 layers of ResNet-50, DenseNet-121
    /// and MobileNetV2 at N = 1 and 2, forward and backward, and two on tiny maps; others: the 7×7 stride-2 stem, 3×3 at
    /// the zoo's sizes (strided too), depthwise, grouped, and few channels on large NCHW maps.
    /// </summary>
    public static IReadOnlyList<ProbeCase> Panel { get; } = BuildPanel();

    private static IReadOnlyList<ProbeCase> BuildPanel()
    {
        var pointwise = new (int C, int O, int S, int Stride)[]
        {
            (512, 1024, 7, 1), (512, 2048, 7, 1), (512, 2048, 14, 1), (2048, 512, 7, 1), (1024, 2048, 14, 2), (1024, 256, 14, 1),
            (256, 1024, 14, 1), (512, 1024, 28, 2), (256, 512, 56, 2), (64, 256, 56, 1), (1024, 128, 7, 1), (1024, 512, 14, 1),
            (320, 1280, 7, 1), (960, 160, 7, 1),
        };
        var cases = new List<ProbeCase>();
        foreach (var n in new[] { 1, 2 })
            foreach (var (c, o, s, stride) in pointwise)
                cases.Add(new ProbeCase(n, c, o, s, s, 1, stride, Backward: n == 2));
        // Tiny maps, as in tests and at the end of small-input ImageNet nets: wrong values seen at 320→1280 on 1×2.
        cases.Add(new ProbeCase(2, 320, 1280, 1, 2));
        cases.Add(new ProbeCase(2, 160, 960, 1, 2));
        cases.Add(new ProbeCase(2, 3, 64, 224, 224, 7, 2, 3));
        cases.Add(new ProbeCase(2, 64, 64, 56, 56, 3, 1, 1));
        cases.Add(new ProbeCase(2, 256, 256, 28, 28, 3, 2, 1));
        cases.Add(new ProbeCase(2, 512, 512, 7, 7, 3, 1, 1));
        cases.Add(new ProbeCase(2, 960, 960, 7, 7, 3, 1, 1, Groups: 960));
        cases.Add(new ProbeCase(2, 1024, 1024, 7, 7, 3, 1, 1, Groups: 32));
        // Few channels on a large NCHW map, as the shift analysis runs: wrong input gradients seen at 4→4, 2×2, 193².
        cases.Add(new ProbeCase(1, 4, 4, 193, 193, 2, Layout: MemoryLayout.Nchw));
        cases.Add(new ProbeCase(1, 4, 4, 195, 195, 4, Layout: MemoryLayout.Nchw));
        return cases;
    }

    private static readonly Lazy<(OneDnnHealthReport? Report, string? Error)> Current = new(ProbeOrLoad);

    /// <summary>This host's report (probing on first use unless cached), or null when no probe could run
    /// (<see cref="Error"/> says why).</summary>
    public static OneDnnHealthReport? Report => Current.Value.Report;

    /// <summary>Why <see cref="Report"/> is null.</summary>
    public static string? Error => Current.Value.Error;

    /// <summary>Where this host's report is cached.</summary>
    public static string CachePath(string signature) => Path.Combine(CacheFolder(), $"onednn-probe-{signature}.json");

    /// <summary>A digest of what oneDNN's choices depend on: the CPU (vendor, model, flags, cache sizes), the libtorch
    /// build, the intra-op thread count and oneDNN's own environment variables.</summary>
    public static string HostSignature(int threads)
    {
        var text = new StringBuilder();
        try
        {
            // The first processor's block: vendor, family, model, stepping, cache size, flags.
            foreach (var line in File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0))
                if (!line.StartsWith("cpu MHz", StringComparison.Ordinal) && !line.StartsWith("bogomips", StringComparison.OrdinalIgnoreCase)) text.AppendLine(line);
        }
        catch (IOException) { text.AppendLine("no /proc/cpuinfo"); }
        text.AppendLine(typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString());
        text.AppendLine(threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("ONEDNN_", StringComparison.Ordinal) || k.StartsWith("DNNL_", StringComparison.Ordinal)).Order())
            text.AppendLine($"{key}={Environment.GetEnvironmentVariable(key)}");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16].ToLowerInvariant();
    }

    private static (OneDnnHealthReport?, string?) ProbeOrLoad()
    {
        var threads = TorchSharp.torch.get_num_threads();
        var signature = HostSignature(threads);
        var path = CachePath(signature);
        if (TryLoad(path) is { } cached) return (cached, null);
        try
        {
            var report = new OneDnnHealthReport(signature, threads, PrimitiveProbe.Run(Panel, threads));
            TrySave(path, report);
            return (report, null);
        }
        catch (ProbeUnavailableException e) { return (null, e.Message); }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ProbeCase, bool> ShapeVerdicts = new();
    private static readonly Lock ShapeGate = new();
    private static PrimitiveProbe? _shapeProbe;
    private static bool _shapesLoaded;

    /// <summary>Whether libtorch computes this exact convolution right on this host: probed once per shape in a child
    /// (a few milliseconds in the session's child; the first costs its start, about a second) and remembered in a
    /// file beside the host report. Used only on hosts whose report is not <see cref="OneDnnHealthReport.Healthy"/>.</summary>
    public static bool IsHealthy(ProbeCase probeCase)
    {
        if (ShapeVerdicts.TryGetValue(probeCase, out var known)) return known;
        lock (ShapeGate)
        {
            var path = ShapesPath();
            if (!_shapesLoaded)
            {
                _shapesLoaded = true;
                try
                {
                    foreach (var line in File.ReadLines(path))
                        if (line.Split(' ') is [var text, var verdict, ..]) ShapeVerdicts[ProbeCase.Parse(text)] = verdict == "ok";
                }
                catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { }
                if (ShapeVerdicts.TryGetValue(probeCase, out known)) return known;
            }
            ProbeResult result;
            try { result = (_shapeProbe ??= new PrimitiveProbe(Report?.Threads ?? TorchSharp.torch.get_num_threads())).Check(probeCase); }
            catch (ProbeUnavailableException) { return ShapeVerdicts[probeCase] = false; }
            ShapeVerdicts[probeCase] = result.Healthy;
            try { File.AppendAllText(path, $"{probeCase} {(result.Healthy ? "ok" : "bad")} {result.Verdict}\n"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return result.Healthy;
        }
    }

    /// <summary>Shapes probed so far in this process or earlier ones, and how many of them libtorch got wrong.</summary>
    public static (int Probed, int Unhealthy) ShapeCounts() => (ShapeVerdicts.Count, ShapeVerdicts.Count(kv => !kv.Value));

    /// <summary>Where the per-shape verdicts are kept.</summary>
    public static string ShapesPath() => Path.Combine(CacheFolder(), $"onednn-shapes-{Report?.Signature ?? "unknown"}.txt");

    private sealed record CachedResult(string Case, bool Survived, double Error, string? Failure);
    private sealed record CachedReport(string Signature, int Threads, string[] Panel, CachedResult[] Results);

    // NaN marks the error of a case that died.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static OneDnnHealthReport? TryLoad(string path)
    {
        try
        {
            var cached = JsonSerializer.Deserialize<CachedReport>(File.ReadAllText(path), Json);
            // A report from an older panel is stale: probe again.
            if (cached is null || !cached.Panel.SequenceEqual(Panel.Select(c => c.ToString()))) return null;
            return new OneDnnHealthReport(cached.Signature, cached.Threads, cached.Results.Select(r => new ProbeResult(ProbeCase.Parse(r.Case), r.Survived, r.Error, r.Failure)).ToList());
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException or UnauthorizedAccessException) { return null; }
    }

    private static void TrySave(string path, OneDnnHealthReport report)
    {
        var cached = new CachedReport(report.Signature, report.Threads, Panel.Select(c => c.ToString()).ToArray(),
            report.Results.Select(r => new CachedResult(r.Case.ToString(), r.Survived, r.Error, r.Failure)).ToArray());
        try { AtomicFile.WriteAllText(path, JsonSerializer.Serialize(cached, Json)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // Probed again next time; the route is the same.
    }

    private static string CacheFolder()
    {
        if (Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } dir) return dir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(xdg is { Length: > 0 } ? xdg : Path.Combine(home.Length > 0 ? home : Path.GetTempPath(), ".cache"), "evenconv");
    }
}
