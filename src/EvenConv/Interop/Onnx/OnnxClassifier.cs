using EvenConv.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EvenConv.Interop.Onnx;

/// <summary>One image's prediction: the best classes with their softmax probabilities, best first.</summary>
public sealed record ImagePrediction(string Path, IReadOnlyList<(int Class, string Label, float Probability)> Top);

/// <summary>
/// An exported classifier run in ONNX Runtime (CPU): raw logits for float batches, or predictions for image files,
/// decoded, resized and normalised as the file's metadata says. Independent of TorchSharp: what a deployed
/// application does with the file.
/// </summary>
public sealed class OnnxClassifier : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;

    private OnnxClassifier(InferenceSession session, string path)
    {
        _session = session;
        var (name, input) = session.InputMetadata.Single();
        _inputName = name;
        var dims = input.Dimensions;
        if (dims.Length != 4 || dims[1] < 1 || dims[2] < 1 || dims[3] < 1)
            throw new InvalidDataException($"{path}: the model input '{name}' has shape [{string.Join(", ", dims)}]; an image classifier takes (N, C, H, W) with fixed C, H and W.");
        (Channels, Height, Width) = (dims[1], dims[2], dims[3]);
        BatchSize = dims[0] > 0 ? dims[0] : null;
        Metadata = OnnxModelMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, path);
    }

    /// <summary>Opens an ONNX file.</summary>
    /// <exception cref="InvalidDataException">Not a readable ONNX model, or not an image classifier.</exception>
    public static OnnxClassifier Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: ONNX file not found.", path);
        InferenceSession session;
        try
        {
            session = new InferenceSession(path);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{path}: ONNX Runtime cannot load it ({e.Message.Split('\n')[0]}); export the model again.", e);
        }
        try
        {
            return new OnnxClassifier(session, path);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>The fixed batch size, or null for a dynamic batch.</summary>
    public int? BatchSize { get; }

    /// <summary>Class names and input normalisation stored by the exporter.</summary>
    public OnnxModelMetadata Metadata { get; }

    /// <summary>Logits of a batch: <paramref name="input"/> holds N·C·H·W floats (NCHW), the result N·classes.</summary>
    public float[] Run(float[] input, int batch)
    {
        if (input.Length != (long)batch * Channels * Height * Width)
            throw new ArgumentException($"A batch of {batch} needs {(long)batch * Channels * Height * Width} floats ({batch}×{Channels}×{Height}×{Width}), got {input.Length}.", nameof(input));
        if (BatchSize is { } fixedBatch && batch != fixedBatch)
            throw new ArgumentException($"The model was exported with a fixed batch of {fixedBatch}; pass {fixedBatch} images, or export with a dynamic batch.", nameof(batch));
        var tensor = new DenseTensor<float>(input, [batch, Channels, Height, Width]);
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_inputName, tensor)]);
        return results[0].AsEnumerable<float>().ToArray();
    }

    /// <summary>Classifies image files (PNG, JPEG; resized to the model's input size), <paramref name="top"/> classes each.</summary>
    public IReadOnlyList<ImagePrediction> Predict(IReadOnlyList<string> imagePaths, int top = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        var norm = Metadata.Normalization;
        if (norm is not null && norm.Mean.Length != Channels)
            throw new InvalidDataException($"The file's normalisation has {norm.Mean.Length} channels but the model takes {Channels}; export it again.");
        var predictions = new List<ImagePrediction>();
        var plane = Height * Width;
        var chunk = BatchSize ?? Math.Min(Math.Max(imagePaths.Count, 1), 64);
        for (var start = 0; start < imagePaths.Count; start += chunk)
        {
            var paths = imagePaths.Skip(start).Take(chunk).ToArray();
            var input = new float[chunk * Channels * plane];
            for (var i = 0; i < paths.Length; i++)
            {
                var pixels = ImageFile.Read(paths[i], Channels, Height, Width);
                for (var c = 0; c < Channels; c++)
                {
                    float mean = norm?.Mean[c] ?? 0, std = norm?.Std[c] ?? 255;
                    for (var p = 0; p < plane; p++) input[(i * Channels + c) * plane + p] = (pixels[c * plane + p] - mean) / std;
                }
            }
            var batch = BatchSize ?? paths.Length;
            var logits = Run(input.AsSpan(0, batch * Channels * plane).ToArray(), batch);
            var classes = logits.Length / batch;
            for (var i = 0; i < paths.Length; i++)
                predictions.Add(new ImagePrediction(paths[i], Softmax(logits.AsSpan(i * classes, classes))
                    .Select((p, k) => (Class: k, Label: Metadata.ClassNames is { } names && k < names.Count ? names[k] : k.ToString(System.Globalization.CultureInfo.InvariantCulture), Probability: p))
                    .OrderByDescending(t => t.Probability).Take(top).ToList()));
        }
        return predictions;
    }

    private static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        var e = new double[logits.Length];
        double sum = 0;
        for (var i = 0; i < logits.Length; i++) sum += e[i] = Math.Exp(logits[i] - max);
        return e.Select(v => (float)(v / sum)).ToArray();
    }

    public void Dispose() => _session.Dispose();
}
