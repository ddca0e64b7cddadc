using EvenConv.Layers;

namespace EvenConv.Models;

/// <summary>
/// What every model builder needs besides its architecture: the spatial kernel kind of its convolutions and the shape of
/// the data. Fashion-MNIST is 1×28×28 with 10 classes, CIFAR 3×32×32 with 10 or 100, ImageNet 3×224×224 with 1000.
/// The models end in a global average pool, so they accept other input sizes too; the size here is what
/// <see cref="Complexity.ModelComplexity"/> counts at.
/// </summary>
/// <param name="Conv">Kernel kind of every spatial convolution the architecture lets vary (stems keep their fixed kernel).</param>
/// <param name="InChannels">Channels of the input images.</param>
/// <param name="NumClasses">Outputs of the classifier.</param>
/// <param name="InputHeight">Input height in pixels.</param>
/// <param name="InputWidth">Input width in pixels.</param>
public sealed record ModelOptions(ConvKind Conv, int InChannels = 3, int NumClasses = 10, int InputHeight = 32, int InputWidth = 32)
{
    /// <summary>CIFAR-shaped options (3×32×32) for the given kind and class count.</summary>
    public static ModelOptions Cifar(ConvKind conv, int numClasses = 10) => new(conv, 3, numClasses);

    /// <summary>ImageNet-shaped options (3×224×224, 1000 classes).</summary>
    public static ModelOptions ImageNet(ConvKind conv) => new(conv, 3, 1000, 224, 224);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value that is out of range.</summary>
    public ModelOptions Validate()
    {
        if (Conv.KernelSize == 0) throw new ArgumentException("ModelOptions.Conv is not set: pass a kind such as ConvKind.C3 or ConvKind.Parse(\"c2sp\").", nameof(Conv));
        if (InChannels < 1) throw new ArgumentOutOfRangeException(nameof(InChannels), InChannels, "Input channels must be at least 1 (1 for grey images, 3 for RGB).");
        if (NumClasses < 1) throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, "The number of classes must be at least 1.");
        if (InputHeight < 1 || InputWidth < 1)
            throw new ArgumentException($"Input size {InputHeight}×{InputWidth} is empty; give a positive height and width such as 32×32.", nameof(InputHeight));
        return this;
    }
}
