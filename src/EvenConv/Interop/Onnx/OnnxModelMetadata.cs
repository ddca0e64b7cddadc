using System.Text.Json;
using EvenConv.Data;

namespace EvenConv.Interop.Onnx;

/// <summary>What a classifier's ONNX file says about its inputs and outputs beyond tensor shapes, stored as metadata
/// properties: the class names, the per-channel normalisation (0–255 scale) its inputs need, the model and kernel kind.</summary>
public sealed record OnnxModelMetadata(string? Model, string? Conv, IReadOnlyList<string>? ClassNames, ChannelNormalization? Normalization)
{
    private const string ModelKey = "evenconv.model", ConvKey = "evenconv.conv", ClassesKey = "evenconv.class_names", NormKey = "evenconv.normalization";

    /// <summary>The metadata properties to store.</summary>
    public IReadOnlyDictionary<string, string> ToProperties()
    {
        var props = new Dictionary<string, string>();
        if (Model is not null) props[ModelKey] = Model;
        if (Conv is not null) props[ConvKey] = Conv;
        if (ClassNames is not null) props[ClassesKey] = JsonSerializer.Serialize(ClassNames);
        if (Normalization is not null) props[NormKey] = JsonSerializer.Serialize(new { mean = Normalization.Mean, std = Normalization.Std });
        return props;
    }

    /// <summary>Reads the properties back; absent ones are null.</summary>
    public static OnnxModelMetadata FromProperties(IReadOnlyDictionary<string, string> props, string source)
    {
        try
        {
            var classes = props.TryGetValue(ClassesKey, out var c) ? JsonSerializer.Deserialize<string[]>(c) : null;
            ChannelNormalization? norm = null;
            if (props.TryGetValue(NormKey, out var n))
            {
                using var doc = JsonDocument.Parse(n);
                norm = new ChannelNormalization(doc.RootElement.GetProperty("mean").Deserialize<float[]>()!, doc.RootElement.GetProperty("std").Deserialize<float[]>()!);
            }
            return new OnnxModelMetadata(props.GetValueOrDefault(ModelKey), props.GetValueOrDefault(ConvKey), classes, norm);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: the EvenConv metadata of this ONNX file is damaged ({e.Message}); export it again.", e);
        }
    }
}
