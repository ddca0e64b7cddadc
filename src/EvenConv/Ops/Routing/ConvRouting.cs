using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Ops.Routing;

/// <summary>Which code computes a 1×1 convolution.</summary>
public enum PointwiseRoute
{
    /// <summary>libtorch's convolution (oneDNN's 1×1 kernels on CPU): the fastest where it is safe.</summary>
    OneDnn,
    /// <summary>A matrix product (<see cref="PointwiseConv"/>): never reaches oneDNN's 1×1 convolution.</summary>
    Gemm,
}

/// <summary>
/// Routes the convolutions of EvenConv's layers and models: every one goes through <see cref="Conv2d"/>, so one switch
/// decides the route for all. 1×1 convolutions take libtorch's convolution where the host's probe
/// (<see cref="OneDnnHealth"/>) shows it survives with the right values, and the GEMM where it does not (or where no probe could run).
/// Measured on a Zen 5 (AVX-512) VM, 2 threads, N16 fwd+bwd: oneDNN's 1×1 is 1.4–1.8× faster than the GEMM
/// (libtorch's sgemm), so the GEMM is the fallback, not the default.
/// </summary>
public static class ConvRouting
{
    /// <summary>Environment variable that forces the 1×1 route: <c>onednn</c>, <c>gemm</c> or <c>auto</c> (the default).</summary>
    public const string PointwiseVariable = "EVENCONV_POINTWISE_CONV";

    private static readonly Lazy<PointwiseRoute?> FromEnvironment = new(() => Parse(Environment.GetEnvironmentVariable(PointwiseVariable)));
    private static bool _overridden;
    private static PointwiseRoute? _override;

    /// <summary>The 1×1 route forced for this process, or null for the probe's choice. Starts from
    /// <see cref="PointwiseVariable"/>; setting it (tests compare the two routes this way) overrides the variable.</summary>
    /// <exception cref="EvenConvException">The variable holds something other than onednn, gemm or auto.</exception>
    public static PointwiseRoute? ForcedPointwise
    {
        get => _overridden ? _override : FromEnvironment.Value;
        set => (_override, _overridden) = (value, true);
    }

    /// <summary>The route 1×1 convolutions take now.</summary>
    public static PointwiseRoute Pointwise => ForcedPointwise ?? (OneDnnHealth.Report is { PointwiseHealthy: true } ? PointwiseRoute.OneDnn : PointwiseRoute.Gemm);

    /// <summary>One line for <c>evenconv info</c>: the route and why.</summary>
    public static string Describe()
    {
        if (ForcedPointwise is { } forced) return $"{Name(forced)} (forced: {PointwiseVariable} or ConvRouting.ForcedPointwise)";
        if (OneDnnHealth.Report is not { } report) return $"{Name(PointwiseRoute.Gemm)} (the oneDNN probe could not run: {OneDnnHealth.Error})";
        var cache = OneDnnHealth.CachePath(report.Signature);
        var bad = report.Unhealthy.Where(r => r.Case.IsPointwise).ToList();
        return bad.Count == 0
            ? $"{Name(PointwiseRoute.OneDnn)} (probe: all {report.Results.Count} cases ran with the right values; {cache})"
            : $"{Name(PointwiseRoute.Gemm)} (probe: oneDNN's 1×1 convolution failed {bad.Count} of {report.Results.Count(r => r.Case.IsPointwise)} cases, e.g. {string.Join(", ", bad.Take(3).Select(r => $"{r.Case}: {r.Verdict}"))}; {cache})";
    }

    /// <summary>Other libtorch convolutions that killed the probe process or computed wrong values (no route avoids
    /// them; set <c>ONEDNN_MAX_CPU_ISA=AVX</c> before start to keep oneDNN off its brgemm kernels); empty on a healthy host.</summary>
    public static IEnumerable<ProbeResult> UnhealthyOthers() =>
        OneDnnHealth.Report?.Unhealthy.Where(r => !r.Case.IsPointwise) ?? [];

    /// <summary><c>conv2d(input, weight, bias, stride, padding, dilation, groups)</c>, with CPU 1×1 kernels (groups 1,
    /// no padding) on the <see cref="Pointwise"/> route.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride = 1, long padding = 0, long dilation = 1, long groups = 1)
    {
        if (groups == 1 && padding == 0 && weight.shape[2] == 1 && weight.shape[3] == 1 && input.device_type == TorchSharp.DeviceType.CPU && Pointwise == PointwiseRoute.Gemm)
            return PointwiseConv.Apply(input, weight, bias, (int)stride);
        return F.conv2d(input, weight, bias, strides: [stride, stride], padding: [padding, padding], dilation: [dilation, dilation], groups: groups);
    }

    /// <summary>Parses a route name: <c>onednn</c>, <c>gemm</c>; null for <c>auto</c>, empty or null; throws an <see cref="EvenConvException"/>
    /// naming the allowed values otherwise.</summary>
    public static PointwiseRoute? Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => null,
        "onednn" => PointwiseRoute.OneDnn,
        "gemm" => PointwiseRoute.Gemm,
        _ => throw new EvenConvException($"'{value}' is not a 1×1 convolution route ({PointwiseVariable}): use onednn, gemm or auto."),
    };

    private static string Name(PointwiseRoute route) => route == PointwiseRoute.OneDnn ? "onednn" : "gemm";
}
