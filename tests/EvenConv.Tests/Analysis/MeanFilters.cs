using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Analysis;

/// <summary>Linear k×k mean-filter layers built from EvenConv's real convolution layer: every weight 1/(C·k²).</summary>
internal static class MeanFilters
{
    public static ConvLayer Layer(ConvKind kind, int channels, int stride = 1, StrideMode mode = StrideMode.Strided, int dilation = 1,
        ScalarType dtype = ScalarType.Float32)
    {
        var layer = Conv.Create(new ConvSpec(channels, channels, kind, stride, mode, Dilation: dilation), init: null, MemoryLayout.Nchw);
        layer.to(dtype);
        using var _ = no_grad();
        layer.Weight.fill_(1.0 / (channels * kind.KernelSize * kind.KernelSize));
        return layer;
    }

    public static nn.Module<Tensor, Tensor> Stack(ConvKind kind, int layers, int channels, ScalarType dtype = ScalarType.Float32) =>
        nn.Sequential(Enumerable.Range(0, layers).Select(i => ($"f{i}", (nn.Module<Tensor, Tensor>)Layer(kind, channels, dtype: dtype))).ToList());
}
