using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using Onnx;
using static TorchSharp.torch;

namespace EvenConv.Interop.Onnx;

/// <summary>How far an ONNX file's outputs in ONNX Runtime are from the model's own eval-mode forward on one batch.</summary>
/// <param name="MaxAbsError">max |ONNX Runtime − EvenConv| over every output.</param>
/// <param name="OutputScale">max |EvenConv output|, to read the error against.</param>
public sealed record OnnxVerificationResult(double MaxAbsError, double OutputScale)
{
    /// <summary>The error relative to the output scale.</summary>
    public double RelativeError => MaxAbsError / Math.Max(OutputScale, 1e-30);
}

/// <summary>Runs an exported model in ONNX Runtime next to the module it came from.</summary>
public static class OnnxVerification
{
    /// <summary>Compares <paramref name="proto"/> run in ONNX Runtime with <paramref name="model"/> in eval mode on
    /// <paramref name="input"/> (N, C, H, W). ONNX Runtime gets the input in float32; the model runs in the input's
    /// dtype, so a float64 copy of the model gives a reference that no float32 kernel of libtorch is part of.</summary>
    public static OnnxVerificationResult Compare(nn.Module<Tensor, Tensor> model, ModelProto proto, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(model);
        double[] expected;
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = inference_mode();
            using var output = model.call(input);
            using var dense = output.to(float64).cpu().contiguous();
            expected = dense.data<double>().ToArray();
        }
        finally
        {
            model.train(wasTraining);
        }
        using var session = new InferenceSession(proto.ToByteArray());
        using var x = input.to(float32).cpu().contiguous();
        var tensor = new DenseTensor<float>(x.data<float>().ToArray(), x.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, tensor)]);
        var actual = results[0].AsEnumerable<float>().ToArray();
        if (actual.Length != expected.Length)
            throw new InvalidOperationException($"ONNX Runtime gave {actual.Length} outputs, the model {expected.Length}.");
        double error = 0, scale = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            error = Math.Max(error, Math.Abs(actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        return new OnnxVerificationResult(error, scale);
    }
}
