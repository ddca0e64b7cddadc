using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Interop.Onnx;

/// <summary>
/// How a <see cref="ConvLayer"/> of any kind becomes ONNX, with portable operators only: a pooled stride is an
/// AveragePool (ceil mode, padding not counted) before a stride-1 convolution; centred kinds use Conv's own symmetric
/// pads; 'same' even kinds are Pad → Conv; symmetric kinds (C2sp, C4sp, …) are Split → Pad per channel group → Concat →
/// Conv, with the groups and their corners of <see cref="SymmetricPadding"/> (bottom-right, top-left, bottom-left,
/// top-right; the first C % 4 groups one channel larger). No Conv ever gets asymmetric pads, which some runtimes
/// (WebGPU among them) reject.
/// </summary>
public static class OnnxConvolution
{
    /// <summary>Writes <paramref name="conv"/> applied to <paramref name="x"/>; with <paramref name="foldedNorm"/> the
    /// eval-mode batch norm that follows the convolution is folded into its weight and bias.</summary>
    public static string Write(OnnxGraph graph, ConvLayer conv, string x, BatchNorm2d? foldedNorm = null)
    {
        var spec = conv.Spec;
        var stride = spec.Stride;
        if (spec.Stride > 1 && spec.StrideMode == StrideMode.Pool)
        {
            x = graph.AveragePool(x, spec.Stride, spec.Stride, ceilMode: true, countIncludePad: false);
            stride = 1;
        }
        var centred = 0L;
        switch (spec.Kind.Scheme)
        {
            case PaddingScheme.Centered:
                centred = spec.Kind.SinglePadding(spec.Dilation).Top;
                break;
            case PaddingScheme.Same:
                x = graph.Pad(x, spec.Kind.SinglePadding(spec.Dilation));
                break;
            case PaddingScheme.Symmetric:
                x = SymmetricPad(graph, x, spec);
                break;
        }
        var path = graph.PathOf(conv);
        var (weight, bias) = foldedNorm is null
            ? (graph.Weight($"{path}.weight", conv.Weight), conv.Bias is { } b ? graph.Weight($"{path}.bias", b) : null)
            : Fold(graph, path, conv, foldedNorm);
        var k = spec.Kind.KernelSize;
        return graph.Node("Conv", bias is null ? [x, weight] : [x, weight, bias],
            ("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }), ("dilations", new long[] { spec.Dilation, spec.Dilation }),
            ("group", (long)spec.Groups), ("pads", new long[] { centred, centred, centred, centred }));
    }

    /// <summary>A convolution followed by a batch norm (post-activation units, stems): folded into one Conv when
    /// <see cref="OnnxExportOptions.FoldBatchNorm"/> is set, else Conv → BatchNormalization.</summary>
    public static string WriteWithNorm(OnnxGraph graph, ConvLayer conv, BatchNorm2d bn, string x) =>
        graph.Options.FoldBatchNorm ? Write(graph, conv, x, bn) : graph.Module(bn, graph.Module(conv, x));

    /// <summary>Split → Pad each non-empty channel group towards its corner → Concat.</summary>
    private static string SymmetricPad(OnnxGraph graph, string x, ConvSpec spec)
    {
        var sizes = SymmetricPadding.GroupSizes(spec.InChannels);
        var padding = SymmetricPadding.GroupPadding(spec.Kind.KernelSize, spec.Dilation);
        var used = Enumerable.Range(0, 4).Where(g => sizes[g] > 0).ToArray();
        var parts = graph.SplitChannels(x, used.Select(g => sizes[g]).ToArray());
        var padded = used.Select((g, i) => graph.Pad(parts[i], padding[g])).ToArray();
        return padded.Length == 1 ? padded[0] : graph.Concat(padded);
    }

    /// <summary>conv then eval-mode BN is one conv with W·s and (b − μ)·s + β per output channel, s = γ/√(σ² + ε);
    /// computed in float64.</summary>
    private static (string Weight, string Bias) Fold(OnnxGraph graph, string path, ConvLayer conv, BatchNorm2d bn)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var channels = conv.Spec.OutChannels;
        var gamma = bn.weight?.to(float64) ?? ones(channels, dtype: float64);
        var beta = bn.bias?.to(float64) ?? zeros(channels, dtype: float64);
        var scale = gamma / (bn.running_var!.to(float64) + bn.eps).sqrt();
        var weight = conv.Weight.to(float64).contiguous() * scale.view(-1, 1, 1, 1);
        var bias = ((conv.Bias?.to(float64) ?? zeros(channels, dtype: float64)) - bn.running_mean!.to(float64)) * scale + beta;
        var bnPath = graph.PathOf(bn);
        return (graph.Weight($"{path}.weight*{bnPath}", weight), graph.Weight($"{path}.bias*{bnPath}", bias));
    }
}
