using System.Globalization;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Ops.Routing;

/// <summary>
/// One libtorch convolution to try in a probe process: batch, channels, input size, square kernel, stride, padding,
/// dilation, groups, layout, and whether backward runs too. Written as a short text (<see cref="ToString"/>,
/// <see cref="Parse"/>) so a parent can hand cases to its probe child, one line each.
/// </summary>
public sealed record ProbeCase(int Batch, int InChannels, int OutChannels, int Height, int Width, int Kernel = 1, int Stride = 1,
    int Padding = 0, int Dilation = 1, int Groups = 1, MemoryLayout Layout = MemoryLayout.ChannelsLast, bool Backward = true)
{
    /// <summary>The case of <c>conv2d(input, weight, stride, padding, dilation, groups)</c> as it is about to run.</summary>
    public static ProbeCase Of(Tensor input, Tensor weight, long stride, long padding, long dilation, long groups) => new(
        (int)input.shape[0], (int)input.shape[1], (int)weight.shape[0], (int)input.shape[2], (int)input.shape[3], (int)weight.shape[2],
        (int)stride, (int)padding, (int)dilation, (int)groups,
        TensorLayout.IsChannelsLast(input) ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw,
        is_grad_enabled() && (input.requires_grad || weight.requires_grad));

    /// <summary>True for 1×1, groups-1 convolutions.</summary>
    public bool IsPointwise => Kernel == 1 && Groups == 1;

    /// <summary>Largest error <see cref="Run"/> accepts, relative to the largest reference value.</summary>
    public const double Tolerance = 1e-3;

    /// <summary>Runs the convolution on libtorch (never on <see cref="PointwiseConv"/>) with random float32 input and
    /// weight, and returns its largest error (output, and input and weight gradients
    /// when <see cref="Backward"/>) relative to the same convolution in float64, which libtorch computes without
    /// oneDNN. Surviving is not enough: on the host that crashes, oneDNN's 1×1 convolution also returns wrong values
    /// for other shapes (C320→1280 at 1×2, N2: errors of 2.7 on outputs of about 20).</summary>
    public double Run()
    {
        using var scope = NewDisposeScope();
        manual_seed(17);
        var x64 = randn(Batch, InChannels, Height, Width, dtype: ScalarType.Float64);
        var w64 = randn(OutChannels, InChannels / Groups, Kernel, Kernel, dtype: ScalarType.Float64) / Math.Sqrt(InChannels / Groups * Kernel * Kernel);
        var (y, gx, gw) = Convolve(x64.to(ScalarType.Float32), w64.to(ScalarType.Float32), Layout);
        var (ry, rgx, rgw) = Convolve(x64, w64, MemoryLayout.Nchw);
        var error = RelativeError(y, ry);
        if (Backward) error = Math.Max(error, Math.Max(RelativeError(gx!, rgx!), RelativeError(gw!, rgw!)));
        return error;
    }

    private (Tensor Y, Tensor? Gx, Tensor? Gw) Convolve(Tensor x, Tensor w, MemoryLayout layout)
    {
        x = TensorLayout.To(x, layout).requires_grad_(Backward);
        w = TensorLayout.To(w, layout).requires_grad_(Backward);
        var y = F.conv2d(x, w, strides: [Stride, Stride], padding: [Padding, Padding], dilation: [Dilation, Dilation], groups: Groups);
        if (!Backward) return (y, null, null);
        // A fixed, non-uniform upstream gradient: the output itself.
        y.backward([y.detach()]);
        return (y, x.grad, w.grad);
    }

    private static double RelativeError(Tensor actual, Tensor reference)
    {
        var scale = reference.abs().max().item<double>();
        var error = (actual.to(ScalarType.Float64) - reference).abs().max().item<double>();
        return double.IsFinite(error) ? error / Math.Max(scale, 1e-30) : double.PositiveInfinity;
    }

    /// <summary>E.g. <c>n1-c512-o1024-s7x7-k1-st1-p0-d1-g1-cl-bwd</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"n{Batch}-c{InChannels}-o{OutChannels}-s{Height}x{Width}-k{Kernel}-st{Stride}-p{Padding}-d{Dilation}-g{Groups}-{(Layout == MemoryLayout.ChannelsLast ? "cl" : "nchw")}-{(Backward ? "bwd" : "fwd")}");

    /// <summary>Reads <see cref="ToString"/>'s form back.</summary>
    public static ProbeCase Parse(string text)
    {
        var parts = text.Trim().Split('-');
        if (parts.Length != 11) throw new FormatException($"'{text}' is not a probe case (expected e.g. n1-c512-o1024-s7x7-k1-st1-p0-d1-g1-cl-bwd).");
        int Number(int i, string prefix, int least = 1) => parts[i].StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(parts[i][prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= least
            ? v : throw new FormatException($"'{text}': part {i + 1} must be {prefix}<{(least == 0 ? "number" : "positive number")}>.");
        var size = parts[3].StartsWith('s') ? parts[3][1..].Split('x') : [];
        if (size.Length != 2 || !int.TryParse(size[0], NumberStyles.None, CultureInfo.InvariantCulture, out var h) || !int.TryParse(size[1], NumberStyles.None, CultureInfo.InvariantCulture, out var w) || h < 1 || w < 1)
            throw new FormatException($"'{text}': part 4 must be s<height>x<width>.");
        var layout = parts[9] switch { "cl" => MemoryLayout.ChannelsLast, "nchw" => MemoryLayout.Nchw, _ => throw new FormatException($"'{text}': layout must be cl or nchw.") };
        var backward = parts[10] switch { "bwd" => true, "fwd" => false, _ => throw new FormatException($"'{text}': the last part must be fwd or bwd.") };
        return new(Number(0, "n"), Number(1, "c"), Number(2, "o"), h, w, Number(4, "k"), Number(5, "st"), Number(6, "p", least: 0), Number(7, "d"), Number(8, "g"), layout, backward);
    }
}
