using EvenConv.Interop.Onnx;
using EvenConv.Ops;
using EvenConv.Ops.Routing;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Layers;

/// <summary>
/// A k×k convolution of any <see cref="ConvKind"/>: centred odd kernels, 'same'-padded even kernels, or even
/// kernels with symmetric (four-way group) padding. Parameters are named as in PyTorch's Conv2d
/// (<c>weight</c>: C_out × C_in/groups × k × k, and <c>bias</c> when enabled), so state dicts read the same.
/// Make one with <see cref="Conv.Create(ConvSpec, Action{Tensor}?, MemoryLayout?)"/>.
/// </summary>
public sealed class ConvLayer : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long[] _stride, _dilation, _centredPadding;

    internal ConvLayer(ConvSpec spec, Action<Tensor> init, MemoryLayout layout) : base(spec.Kind.ToString())
    {
        Spec = spec.Validate();
        var k = spec.Kind.KernelSize;
        var w = empty(spec.OutChannels, spec.InChannels / spec.Groups, k, k);
        init(w);
        weight = nn.Parameter(TensorLayout.To(w, layout));
        if (spec.Bias) bias = nn.Parameter(zeros(spec.OutChannels));
        var convStride = spec.StrideMode == StrideMode.Pool ? 1 : spec.Stride;
        _stride = [convStride, convStride];
        _dilation = [spec.Dilation, spec.Dilation];
        var centred = spec.Kind.Scheme == PaddingScheme.Centered ? spec.Kind.SinglePadding(spec.Dilation).Top : 0;
        _centredPadding = [centred, centred];
        RegisterComponents();
    }

    /// <summary>The layer's definition.</summary>
    public ConvSpec Spec { get; }

    /// <summary>The kernel, C_out × C_in/groups × k × k.</summary>
    public Parameter Weight => weight;

    /// <summary>The bias, or null.</summary>
    public Parameter? Bias => bias;

    public override Tensor forward(Tensor input)
    {
        CheckInput(input);
        var x = Spec.Stride > 1 && Spec.StrideMode == StrideMode.Pool
            ? F.avg_pool2d(input, kernel_size: [Spec.Stride, Spec.Stride], stride: [Spec.Stride, Spec.Stride], ceil_mode: true, count_include_pad: false)
            : input;
        // Symmetric kinds pad and convolve in one op that keeps no padded copy for backward.
        if (Spec.Kind.Scheme == PaddingScheme.Symmetric)
            return SymmetricPadConv.Apply(x, weight, bias, (int)_stride[0], Spec.Dilation, Spec.Groups);
        if (Spec.Kind.Scheme == PaddingScheme.Same)
            x = F.pad(x, Spec.Kind.SinglePadding(Spec.Dilation).ToTorchPadArgument());
        return ConvRouting.Conv2d(x, weight, bias, _stride[0], _centredPadding[0], _dilation[0], Spec.Groups);
    }

    /// <summary>Portable ONNX: see <see cref="OnnxConvolution"/>.</summary>
    public string WriteOnnx(OnnxGraph graph, string input) => OnnxConvolution.Write(graph, this, input);

    private void CheckInput(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"{this.GetName()}: expected a 4-D (N, C, H, W) input, got shape [{string.Join(", ", input.shape)}].", nameof(input));
        if (input.shape[1] != Spec.InChannels)
            throw new ArgumentException($"{this.GetName()}: expected {Spec.InChannels} input channels, got {input.shape[1]} (input shape [{string.Join(", ", input.shape)}]).", nameof(input));
        if (input.shape[2] < 1 || input.shape[3] < 1)
            throw new ArgumentException($"{this.GetName()}: the input has an empty spatial size {input.shape[2]}×{input.shape[3]}.", nameof(input));
    }

    public override string ToString() =>
        $"ConvLayer({Spec.Kind}, {Spec.InChannels}→{Spec.OutChannels}, stride={Spec.Stride} ({Spec.StrideMode}), groups={Spec.Groups}, dilation={Spec.Dilation}, bias={Spec.Bias})";
}
