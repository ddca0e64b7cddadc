namespace EvenConv.Interop.Onnx;

/// <summary>How a model is written to ONNX.</summary>
/// <param name="Channels">Input channels.</param>
/// <param name="Height">Input height: the model's input is (N, C, H, W).</param>
/// <param name="Width">Input width.</param>
/// <param name="BatchSize">A fixed batch size, or null for a dynamic batch axis named "batch".</param>
/// <param name="FoldBatchNorm">Fold each batch norm that directly follows a convolution into it (the post-activation
/// units and stems); the pre-activation batch norms, which precede a ReLU and a padded convolution, cannot be folded
/// and stay BatchNormalization nodes. False keeps every batch norm as a BatchNormalization node.</param>
public sealed record OnnxExportOptions(int Channels, int Height, int Width, int? BatchSize = null, bool FoldBatchNorm = true)
{
    /// <summary>Extra key/value pairs stored in the file's metadata (class names, input normalisation, the model name).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value that is out of range.</summary>
    public OnnxExportOptions Validate()
    {
        if (Channels < 1) throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "Input channels must be at least 1.");
        if (Height < 1 || Width < 1) throw new ArgumentException($"Input size {Height}×{Width} is empty; give a positive height and width such as 32×32.", nameof(Height));
        if (BatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "A fixed batch size must be at least 1 (or null for a dynamic batch).");
        return this;
    }
}
