using EvenConv.Layers;

namespace EvenConv.Models;

/// <summary>A registered model: its stable name, a one-line description and what it accepts.</summary>
/// <param name="Name">Stable registry name, e.g. "resnet56".</param>
/// <param name="Description">One line: architecture and where it comes from in the paper.</param>
/// <param name="Family">Builder family, e.g. "resnet", "densenet".</param>
/// <param name="ConvKinds">The kernel kinds it accepts; null means any kind.</param>
/// <param name="DefaultConv">The kind to use when the user names none (the paper's row for this model).</param>
/// <param name="DefaultInputSize">Input side length the model is designed for (32 for CIFAR, 224 for ImageNet).</param>
/// <param name="DefaultNumClasses">Classes of the data set the model is designed for.</param>
public sealed record ModelInfo(
    string Name,
    string Description,
    string Family,
    IReadOnlyList<ConvKind>? ConvKinds,
    ConvKind DefaultConv,
    int DefaultInputSize,
    int DefaultNumClasses)
{
    /// <summary>Whether the model can be built with <paramref name="kind"/>.</summary>
    public bool Accepts(ConvKind kind) => ConvKinds is null || ConvKinds.Contains(kind);

    /// <summary>"any" or the accepted kinds, comma-separated.</summary>
    public string ConvKindsText => ConvKinds is null ? "any" : string.Join(", ", ConvKinds);

    /// <summary>The options the model is designed for (its data set's shape and classes), with the given kind or its default.</summary>
    public ModelOptions DefaultOptions(ConvKind? conv = null) =>
        new(conv ?? DefaultConv, 3, DefaultNumClasses, DefaultInputSize, DefaultInputSize);
}
