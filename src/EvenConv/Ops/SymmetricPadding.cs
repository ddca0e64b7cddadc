namespace EvenConv.Ops;

/// <summary>Zero padding on the four sides of a feature map, in PyTorch's order of thought: top, bottom, left, right.</summary>
public readonly record struct Padding2d(int Top, int Bottom, int Left, int Right)
{
    /// <summary>The same padding on every side.</summary>
    public static Padding2d Uniform(int p) => new(p, p, p, p);

    /// <summary>The argument order of <c>torch.nn.functional.pad</c>: (left, right, top, bottom).</summary>
    public long[] ToTorchPadArgument() => [Left, Right, Top, Bottom];

    /// <summary>The centre of a k-tap window relative to the output pixel, in input pixels (y, x): the per-layer shift.</summary>
    public (double Y, double X) WindowCentre(int effectiveKernel) => ((effectiveKernel - 1) / 2.0 - Top, (effectiveKernel - 1) / 2.0 - Left);
}

/// <summary>
/// The channel groups and per-group padding of symmetric (four-way group) padding, after Wu et al. (NeurIPS 2019)
/// and the authors' TensorFlow code. The input channels are split into four contiguous groups — the first
/// <c>C % 4</c> one channel larger, empty groups allowed — and each group is zero-padded towards a different
/// corner, so the half-pixel shifts of an even kernel cancel across channels.
/// </summary>
public static class SymmetricPadding
{
    /// <summary>
    /// The extra pixel of each group, in the authors' group order (top, bottom, left, right): bottom-right,
    /// top-left, bottom-left, top-right. This order fixes weight compatibility with the authors' models.
    /// </summary>
    private static readonly Padding2d[] Corners = [new(0, 1, 0, 1), new(1, 0, 1, 0), new(0, 1, 1, 0), new(1, 0, 0, 1)];

    /// <summary>The four groups' padding for an even kernel of size <paramref name="kernelSize"/> = 2κ at dilation d:
    /// d(κ−1) on every side plus d more towards the group's corner.</summary>
    public static Padding2d[] GroupPadding(int kernelSize, int dilation = 1)
    {
        if (kernelSize < 2 || kernelSize % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "Symmetric padding is defined for even kernel sizes (2, 4, 6, ...).");
        if (dilation < 1) throw new ArgumentOutOfRangeException(nameof(dilation), dilation, "Dilation must be at least 1.");
        var b = dilation * (kernelSize / 2 - 1);
        return Corners.Select(c => new Padding2d(b + dilation * c.Top, b + dilation * c.Bottom, b + dilation * c.Left, b + dilation * c.Right)).ToArray();
    }

    /// <summary>Sizes of the four contiguous channel groups: the first <c>C % 4</c> get one extra channel.</summary>
    public static long[] GroupSizes(long channels)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channel count must be positive.");
        long q = channels / 4, r = channels % 4;
        return [q + (r > 0 ? 1 : 0), q + (r > 1 ? 1 : 0), q + (r > 2 ? 1 : 0), q];
    }
}
