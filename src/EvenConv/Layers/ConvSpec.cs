namespace EvenConv.Layers;

/// <summary>
/// Everything that defines one spatial convolution layer. <see cref="Validate"/> names the argument and the
/// allowed values when a combination is impossible.
/// </summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="Kind">Kernel size and padding scheme (c3, c2, c2sp, ...).</param>
/// <param name="Stride">Spatial stride; 1 keeps H×W, 2 halves it (rounding up).</param>
/// <param name="StrideMode">Where a stride above 1 is applied.</param>
/// <param name="Groups">Convolution groups; <c>Groups == InChannels == OutChannels</c> is depthwise.</param>
/// <param name="Bias">Whether the layer adds a learnt bias (the paper's convolutions have none).</param>
/// <param name="Dilation">Kernel dilation; padding scales with it, so stride 1 still keeps H×W.</param>
public sealed record ConvSpec(
    int InChannels,
    int OutChannels,
    ConvKind Kind,
    int Stride = 1,
    StrideMode StrideMode = StrideMode.Strided,
    int Groups = 1,
    bool Bias = false,
    int Dilation = 1)
{
    /// <summary>Extent of the dilated kernel, d(k−1)+1.</summary>
    public int EffectiveKernel => Dilation * (Kind.KernelSize - 1) + 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first argument that is out of range.</summary>
    public ConvSpec Validate()
    {
        if (Kind.KernelSize == 0) throw new ArgumentException("Kind is not set: pass a ConvKind such as ConvKind.C2sp or ConvKind.Parse(\"c3\").", nameof(Kind));
        if (InChannels < 1) throw new ArgumentOutOfRangeException(nameof(InChannels), InChannels, "in_channels must be at least 1.");
        if (OutChannels < 1) throw new ArgumentOutOfRangeException(nameof(OutChannels), OutChannels, "out_channels must be at least 1.");
        if (Stride < 1) throw new ArgumentOutOfRangeException(nameof(Stride), Stride, "stride must be at least 1 (1 keeps the size, 2 halves it).");
        if (Dilation < 1) throw new ArgumentOutOfRangeException(nameof(Dilation), Dilation, "dilation must be at least 1.");
        if (Groups < 1) throw new ArgumentOutOfRangeException(nameof(Groups), Groups, "groups must be at least 1.");
        if (InChannels % Groups != 0 || OutChannels % Groups != 0)
            throw new ArgumentException($"groups={Groups} must divide both in_channels={InChannels} and out_channels={OutChannels}; allowed values are their common divisors ({string.Join(", ", CommonDivisors(InChannels, OutChannels))}).", nameof(Groups));
        if (!Enum.IsDefined(StrideMode)) throw new ArgumentOutOfRangeException(nameof(StrideMode), StrideMode, "stride mode must be Strided or Pool.");
        return this;
    }

    /// <summary>Output size for an input of <paramref name="size"/> pixels along one axis: ceil(size / stride).</summary>
    public long OutputSize(long size) => (size + Stride - 1) / Stride;

    private static IEnumerable<int> CommonDivisors(int a, int b) => Enumerable.Range(1, Math.Min(a, b)).Where(d => a % d == 0 && b % d == 0);
}
