using System.Numerics;
using EvenConv.Layers;

namespace EvenConv.Gan;

/// <summary>
/// The generator/discriminator pair of EvenConv's GAN protocol (paper.md, Decision 7): a DCGAN-style pair in which
/// every spatial convolution is the kernel kind under test, so kinds are compared on equal terms.
/// </summary>
/// <param name="Conv">The kernel kind of every spatial convolution (c2, c2sp, c3, c4, c4sp, c5, ...).</param>
/// <param name="ImageChannels">1 for grey images, 3 for RGB.</param>
/// <param name="Resolution">Side of the square images: a power of two from 8 to 256 (32 by default; 64/128 for image folders).</param>
/// <param name="LatentDim">Length of the noise vector z.</param>
/// <param name="GeneratorWidth">Generator channels at 4×4; each upsampling block halves them (never below 16, or the width itself if smaller).</param>
/// <param name="DiscriminatorWidth">Discriminator channels of the first stage; each stage doubles them (at most 8×).</param>
public sealed record GanArchitecture(
    ConvKind Conv,
    int ImageChannels = 3,
    int Resolution = 32,
    int LatentDim = 128,
    int GeneratorWidth = 256,
    int DiscriminatorWidth = 64)
{
    /// <summary>Upsampling blocks of the generator and downsampling stages of the discriminator: log2(Resolution/4).</summary>
    public int Stages => BitOperations.Log2((uint)Resolution) - 2;

    /// <summary>Output channels of generator block <paramref name="block"/> (0-based); input of block 0 is <see cref="GeneratorWidth"/>.</summary>
    public int GeneratorChannels(int block) => Math.Max(GeneratorWidth >> (block + 1), Math.Min(16, GeneratorWidth));

    /// <summary>Channels of discriminator stage <paramref name="stage"/> (0-based).</summary>
    public int DiscriminatorChannels(int stage) => Math.Min(DiscriminatorWidth << stage, DiscriminatorWidth * 8);

    /// <summary>Throws <see cref="ArgumentException"/> naming the value that is out of range and what is allowed.</summary>
    public GanArchitecture Validate()
    {
        if (Conv.KernelSize == 0) throw new ArgumentException("Conv is not set: pass a kind such as ConvKind.C2sp or ConvKind.Parse(\"c3\").", nameof(Conv));
        if (ImageChannels < 1) throw new ArgumentOutOfRangeException(nameof(ImageChannels), ImageChannels, "Images need at least one channel (1 = grey, 3 = RGB).");
        if (Resolution < 8 || Resolution > 256 || !BitOperations.IsPow2(Resolution))
            throw new ArgumentOutOfRangeException(nameof(Resolution), Resolution, "Resolution must be a power of two from 8 to 256 (32, 64 or 128 in practice).");
        if (LatentDim < 1) throw new ArgumentOutOfRangeException(nameof(LatentDim), LatentDim, "The noise vector needs at least one dimension (128 is the default).");
        if (GeneratorWidth < 1) throw new ArgumentOutOfRangeException(nameof(GeneratorWidth), GeneratorWidth, "Generator width must be at least 1 (256 is the default).");
        if (DiscriminatorWidth < 1) throw new ArgumentOutOfRangeException(nameof(DiscriminatorWidth), DiscriminatorWidth, "Discriminator width must be at least 1 (64 is the default).");
        return this;
    }

    /// <summary>One line for logs and tables.</summary>
    public override string ToString() =>
        $"{Conv} {ImageChannels}×{Resolution}×{Resolution}, z={LatentDim}, G width {GeneratorWidth}, D width {DiscriminatorWidth}";
}
