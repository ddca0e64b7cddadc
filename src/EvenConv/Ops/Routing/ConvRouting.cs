using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Ops.Routing;

/// <summary>Which code computes a convolution.</summary>
public enum ConvRoute
{
    /// <summary>libtorch's convolution (oneDNN on CPU): the fastest where it is right.</summary>
    OneDnn,
    /// <summary>Matrix products (<see cref="GemmConv"/>): never reaches oneDNN's convolution.</summary>
    Gemm,
}

/// <summary>
/// Routes the convolutions of EvenConv's layers and models: every one goes through <see cref="Conv2d"/>. On a host
/// whose probe (<see cref="OneDnnHealth"/>) found oneDNN right in every case, all run on oneDNN. On a host where it
/// found a case that dies or computes wrong values, each convolution shape is checked in the probe child before its
/// first use and runs on oneDNN only if it came out right; the others take the GEMM. Measured on a Zen 5 (AVX-512)
/// VM, 2 threads, N16 fwd+bwd: oneDNN's 1×1 is 1.4–1.8× faster than the GEMM, so the GEMM is the fallback, not the default.
/// </summary>
public static class ConvRouting
{
    /// <summary>Environment variable that forces the route: <c>onednn</c>, <c>gemm</c> or <c>auto</c> (the default).</summary>
    public const string Variable = "EVENCONV_CONV_ROUTE";

    private static readonly Lazy<ConvRoute?> FromEnvironment = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));
    private static bool _overridden;
    private static ConvRoute? _override;

    /// <summary>The route forced for this process, or null for the probe's choice. Starts from <see cref="Variable"/>;
    /// setting it (tests compare the two routes this way) overrides the variable.</summary>
    /// <exception cref="EvenConvException">The variable holds something other than onednn, gemm or auto.</exception>
    public static ConvRoute? Forced
    {
        get => _overridden ? _override : FromEnvironment.Value;
        set => (_override, _overridden) = (value, true);
    }

    /// <summary>The route every convolution takes now, whatever its shape: the forced one, else GEMM where the probe
    /// could not run and oneDNN where it found the host healthy; null where each shape has its own route.</summary>
    private static ConvRoute? HostRoute => Forced ?? OneDnnHealth.Report switch
    {
        null => ConvRoute.Gemm,
        { Healthy: true } => ConvRoute.OneDnn,
        _ => null,
    };

    /// <summary>The route <c>conv2d(input, weight, stride, padding, dilation, groups)</c> takes now; with
    /// <paramref name="backward"/> null, whether its backward runs is read from autograd's state.</summary>
    public static ConvRoute RouteFor(Tensor input, Tensor weight, long stride, long padding, long dilation, long groups, bool? backward = null)
    {
        if (HostRoute is { } route) return route;
        if (OneDnnHealth.Report!.PointwiseBroken && weight.shape[2] == 1 && weight.shape[3] == 1) return ConvRoute.Gemm;
        var probeCase = ProbeCase.Of(input, weight, stride, padding, dilation, groups);
        if (backward is { } b) probeCase = probeCase with { Backward = b };
        return OneDnnHealth.IsHealthy(probeCase) ? ConvRoute.OneDnn : ConvRoute.Gemm;
    }

    /// <summary><c>conv2d(input, weight, bias, stride, padding, dilation, groups)</c> on the route <see cref="RouteFor"/>
    /// picks; non-square kernels and tensors off the CPU always go to libtorch.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride = 1, long padding = 0, long dilation = 1, long groups = 1)
    {
        Nnpack.OffWhereUnavailable();
        // On a healthy host no tensor property is read: each is a native call, and the device and shape checks cost
        // 1.5 µs per convolution on a Zen 3, where the host route is a cached answer (0.01 µs).
        if (HostRoute != ConvRoute.OneDnn && input.device_type == TorchSharp.DeviceType.CPU && weight.shape[2] == weight.shape[3]
            && RouteFor(input, weight, stride, padding, dilation, groups) == ConvRoute.Gemm)
            return GemmConv.Apply(input, weight, bias, stride, padding, dilation, groups);
        return F.conv2d(input, weight, bias, strides: [stride, stride], padding: [padding, padding], dilation: [dilation, dilation], groups: groups);
    }

    /// <summary>Lines for <c>evenconv info</c>: the route and why, then each probe case libtorch got wrong.</summary>
    public static IEnumerable<string> Describe()
    {
        if (Forced is { } forced)
        {
            yield return $"{Name(forced)} for every convolution (forced: {Variable} or ConvRouting.Forced)";
            yield break;
        }
        if (OneDnnHealth.Report is not { } report)
        {
            yield return $"gemm for every convolution (the oneDNN probe could not run: {OneDnnHealth.Error})";
            yield break;
        }
        var cache = OneDnnHealth.CachePath(report.Signature);
        if (report.Healthy)
        {
            yield return $"onednn (the probe ran all {report.Results.Count} cases with the right values; {cache})";
            yield break;
        }
        var bad = report.Unhealthy.ToList();
        var (probed, unhealthy) = OneDnnHealth.ShapeCounts();
        yield return $"per shape: onednn where a probe child computed that shape right, else gemm — oneDNN failed {bad.Count} of {report.Results.Count} host cases ({cache}); shapes checked so far {probed}, on gemm {unhealthy} ({OneDnnHealth.ShapesPath()})";
        foreach (var r in bad) yield return $"{r.Case}: {r.Verdict}";
    }

    /// <summary>Parses a route name: <c>onednn</c>, <c>gemm</c>; null for <c>auto</c>, empty or null; throws an
    /// <see cref="EvenConvException"/> naming the allowed values otherwise.</summary>
    public static ConvRoute? Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => null,
        "onednn" => ConvRoute.OneDnn,
        "gemm" => ConvRoute.Gemm,
        _ => throw new EvenConvException($"'{value}' is not a convolution route ({Variable}): use onednn, gemm or auto."),
    };

    private static string Name(ConvRoute route) => route == ConvRoute.OneDnn ? "onednn" : "gemm";
}
