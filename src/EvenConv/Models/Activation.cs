using EvenConv.Interop.Onnx;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Models;

/// <summary>The non-linearity of a model: the authors use ReLU in ResNet-50 1.0x and the CIFAR nets, ReLU6 elsewhere.</summary>
public enum Activation
{
    Relu,
    Relu6,
}

internal static class ActivationFunctions
{
    /// <summary>Applies the activation in place: every call site feeds it a fresh batch-norm output that nothing else reads
    /// (batch norm's backward needs its input, not its output), so this saves one feature map per layer.</summary>
    public static Tensor ApplyInPlace(this Activation activation, Tensor x) =>
        activation == Activation.Relu6 ? F.relu6(x, inplace: true) : F.relu(x, inplace: true);

    /// <summary>ONNX Relu, or Clip(0, 6) for ReLU6.</summary>
    public static string WriteOnnx(this Activation activation, OnnxGraph graph, string x) =>
        activation == Activation.Relu6 ? graph.Clip(x, 0, 6) : graph.Relu(x);
}
