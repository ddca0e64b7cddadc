using EvenConv.Interop.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Layers;

/// <summary>
/// Depthwise-separable convolution: a depthwise k×k convolution of any <see cref="ConvKind"/> (one filter per channel,
/// He fan-out initialised as the authors do for depthwise layers) followed by a pointwise 1×1 convolution, with nothing
/// in between (as TensorFlow's <c>separable_conv2d</c>). Parameters: <c>dw.weight</c> (C_in×1×k×k), <c>pw.weight</c>.
/// </summary>
public sealed class SeparableConv : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ConvLayer dw, pw;

    /// <summary>A separable convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/>; the stride sits in the depthwise part.</summary>
    public SeparableConv(int inChannels, int outChannels, ConvKind kind, int stride = 1, StrideMode strideMode = StrideMode.Strided) : base($"sep_{kind}")
    {
        dw = Conv.Create(new ConvSpec(inChannels, inChannels, kind, stride, strideMode, Groups: inChannels), ConvInit.HeNormalFanOut);
        pw = Conv.Create(new ConvSpec(inChannels, outChannels, ConvKind.C1));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return pw.call(dw.call(input)).MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input) => graph.Module(pw, graph.Module(dw, input));
}
