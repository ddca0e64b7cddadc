using EvenConv.Ops;
using static TorchSharp.torch;

namespace EvenConv.Layers;

/// <summary>The one factory for every convolution kind (C1…C7, C2/C4 'same', C2sp/C4sp symmetric).</summary>
public static class Conv
{
    /// <summary>Creates a convolution layer.</summary>
    /// <param name="spec">What to build; validated first.</param>
    /// <param name="init">Fills the weight in place; default <see cref="ConvInit.HeNormalFanIn"/>, the authors' choice.</param>
    /// <param name="layout">Memory layout of the weight; default <see cref="TensorLayout.Default"/>.</param>
    public static ConvLayer Create(ConvSpec spec, Action<Tensor>? init = null, MemoryLayout? layout = null) =>
        new(spec, init ?? ConvInit.HeNormalFanIn, layout ?? TensorLayout.Default);

    /// <summary>Creates a convolution layer from a kind name such as "c2sp".</summary>
    public static ConvLayer Create(string kind, int inChannels, int outChannels, int stride = 1,
        StrideMode strideMode = StrideMode.Strided, int groups = 1, bool bias = false, int dilation = 1, Action<Tensor>? init = null) =>
        Create(new ConvSpec(inChannels, outChannels, ConvKind.Parse(kind), stride, strideMode, groups, bias, dilation), init);
}
