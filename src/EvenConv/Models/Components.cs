using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>Factories for the layers every family uses, with the authors' settings.</summary>
internal static class Components
{
    /// <summary>Batch norm with γ and β; momentum 0.1 is TensorFlow's decay 0.9, ε 1e-5 as in the authors' code.</summary>
    public static BatchNorm2d Norm(int channels) => nn.BatchNorm2d(channels, eps: 1e-5, momentum: 0.1);

    /// <summary>A 1×1 convolution without bias.</summary>
    public static ConvLayer Pointwise(int inChannels, int outChannels, int stride = 1, StrideMode strideMode = StrideMode.Strided) =>
        Conv.Create(new ConvSpec(inChannels, outChannels, ConvKind.C1, stride, strideMode));

    /// <summary>A depthwise convolution (one k×k filter per channel), He fan-out initialised.</summary>
    public static ConvLayer Depthwise(int channels, ConvKind kind, int stride = 1, StrideMode strideMode = StrideMode.Strided) =>
        Conv.Create(new ConvSpec(channels, channels, kind, stride, strideMode, Groups: channels), ConvInit.HeNormalFanOut);
}

/// <summary>How a family builds its spatial (k×k) convolutions: the kind, where a stride sits, and whether they are
/// depthwise-separable.</summary>
public sealed record SpatialConv(ConvKind Kind, StrideMode StrideMode = StrideMode.Strided, bool Separable = false)
{
    /// <summary>A spatial convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/>.</summary>
    public nn.Module<Tensor, Tensor> Create(int inChannels, int outChannels, int stride = 1) =>
        Separable
            ? new SeparableConv(inChannels, outChannels, Kind, stride, StrideMode)
            : Conv.Create(new ConvSpec(inChannels, outChannels, Kind, stride, StrideMode));
}
