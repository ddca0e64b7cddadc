using EvenConv.Distributed;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>
/// The pre-activation sequence of the paper's networks, batch norm → activation → convolution, run as one op where it
/// can be: a C2sp convolution in training mode goes through <see cref="BatchNormActConv"/>, which never stores the
/// activation (a feature map per layer less to keep for backward, two passes over memory fewer); everything else —
/// eval mode, other kinds, shapes the fused kernels do not take — runs the three modules as written. Both compute the
/// same function, parameters and running statistics. The fused op reads the modules' parameters and buffers directly,
/// so forward hooks on the batch norm and the convolution do not fire in training mode for fused layers (the analyses
/// that use hooks run in eval mode). Both follow synchronized batch norm (<see cref="SyncBatchNorm"/>).
/// </summary>
public static class PreActivationConv
{
    private static readonly ThreadSwitch Separate = new();

    /// <summary>Runs this thread's pre-activations as three separate ops until the result is disposed: for side-by-side
    /// benchmarks and tests.</summary>
    public static IDisposable UseSeparateOps() => Separate.TurnOn();

    /// <summary><c>conv(activation(norm(input)))</c>.</summary>
    public static Tensor Apply(BatchNorm2d norm, Activation activation, nn.Module<Tensor, Tensor> conv, Tensor input)
    {
        if (Fusable(norm, conv, input, out var layer))
        {
            var state = SyncBatchNorm.State(norm);
            var upper = activation == Activation.Relu6 ? 6f : float.PositiveInfinity;
            return BatchNormActConv.Apply(input, state, upper, layer.Weight, layer.Bias, layer.Spec.Stride);
        }
        return conv.call(activation.ApplyInPlace(SyncBatchNorm.Call(norm, input)));
    }

    /// <summary>The eval-mode ONNX of <see cref="Apply"/>: the three modules in turn.</summary>
    public static string WriteOnnx(OnnxGraph graph, BatchNorm2d norm, Activation activation, nn.Module<Tensor, Tensor> conv, string input) =>
        graph.Module(conv, activation.WriteOnnx(graph, graph.Module(norm, input)));

    private static bool Fusable(BatchNorm2d norm, nn.Module<Tensor, Tensor> conv, Tensor input, out ConvLayer layer)
    {
        layer = null!;
        if (Separate.IsOn || !norm.training || !norm.affine || norm.weight is null || norm.bias is null) return false;
        if (conv is not ConvLayer { Spec: var spec } candidate || spec.Kind != ConvKind.C2sp || spec.Groups != 1 || spec.Dilation != 1 ||
            (spec.Stride > 1 && spec.StrideMode == StrideMode.Pool))
            return false;
        layer = candidate;
        return BatchNormActConv.Supports(input, layer.Weight, spec.Stride);
    }
}
