using System.Globalization;
using EvenConv.Ops;

namespace EvenConv.Layers;

/// <summary>How a convolution pads its input so that a stride-1 layer keeps the spatial size.</summary>
public enum PaddingScheme
{
    /// <summary>Odd kernels: (k−1)/2 on every side.</summary>
    Centered,
    /// <summary>Even kernels, TensorFlow/PyTorch 'same': (k−1)//2 before, the rest after — the paper's plain C2/C4.
    /// Shifts the feature map half a pixel towards the top-left at every layer.</summary>
    Same,
    /// <summary>Even kernels with symmetric (four-way group) padding — the paper's C2sp/C4sp.</summary>
    Symmetric,
}

/// <summary>
/// A spatial convolution kind: the kernel size and the padding scheme. Written and parsed as in the paper:
/// "c3", "c2", "c2sp", "c4sp". C1…C7 and any other size come from the same type.
/// </summary>
public readonly record struct ConvKind
{
    /// <summary>Creates a kind; the scheme must fit the kernel size (see <see cref="PaddingScheme"/>).</summary>
    public ConvKind(int kernelSize, PaddingScheme scheme)
    {
        if (kernelSize < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "Kernel size must be at least 1.");
        var odd = kernelSize % 2 == 1;
        if (odd && scheme != PaddingScheme.Centered)
            throw new ArgumentException($"Kernel size {kernelSize} is odd: it has a centre pixel and takes centred padding only (\"c{kernelSize}\"); symmetric padding (\"sp\") is for even sizes such as c2sp, c4sp.", nameof(scheme));
        if (!odd && scheme == PaddingScheme.Centered)
            throw new ArgumentException($"Kernel size {kernelSize} is even and cannot be centred: use \"c{kernelSize}\" ('same' padding) or \"c{kernelSize}sp\" (symmetric padding).", nameof(scheme));
        KernelSize = kernelSize;
        Scheme = scheme;
    }

    /// <summary>Side length k of the k×k kernel.</summary>
    public int KernelSize { get; }

    /// <summary>How the input is padded.</summary>
    public PaddingScheme Scheme { get; }

    /// <summary>True for symmetric-padding kinds (c2sp, c4sp, …).</summary>
    public bool IsSymmetric => Scheme == PaddingScheme.Symmetric;

    public static ConvKind C1 => new(1, PaddingScheme.Centered);
    public static ConvKind C2 => new(2, PaddingScheme.Same);
    public static ConvKind C2sp => new(2, PaddingScheme.Symmetric);
    public static ConvKind C3 => new(3, PaddingScheme.Centered);
    public static ConvKind C4 => new(4, PaddingScheme.Same);
    public static ConvKind C4sp => new(4, PaddingScheme.Symmetric);
    public static ConvKind C5 => new(5, PaddingScheme.Centered);

    /// <summary>The kinds the paper compares, in its order.</summary>
    public static IReadOnlyList<ConvKind> PaperKinds { get; } = [C2, C2sp, C3, C4, C4sp, C5];

    /// <summary>Parses "c3", "C2sp", "c4sp"; throws a <see cref="FormatException"/> that lists valid forms.</summary>
    public static ConvKind Parse(string text) =>
        TryParse(text, out var kind, out var error) ? kind : throw new FormatException(error);

    /// <summary>Parses a kind; on failure <paramref name="error"/> says what is wrong and what is accepted.</summary>
    public static bool TryParse(string? text, out ConvKind kind, out string error)
    {
        kind = default;
        var s = (text ?? "").Trim().ToLowerInvariant();
        var sp = s.EndsWith("sp", StringComparison.Ordinal);
        var digits = sp ? s[1..^2] : s.Length > 1 ? s[1..] : "";
        if (!s.StartsWith('c') || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var k) || k < 1 || k > 15)
        {
            error = $"'{text}' is not a convolution kind. Use c<k> for a k×k kernel (c1, c2, c3, c4, c5, c7) or c<k>sp for an even kernel with symmetric padding (c2sp, c4sp).";
            return false;
        }
        if (sp && k % 2 == 1)
        {
            error = $"'{text}': symmetric padding is for even kernels; c{k} is odd and already symmetric. Use c{k}, or c{k - 1}sp / c{k + 1}sp.";
            return false;
        }
        kind = new ConvKind(k, sp ? PaddingScheme.Symmetric : k % 2 == 1 ? PaddingScheme.Centered : PaddingScheme.Same);
        error = "";
        return true;
    }

    /// <summary>Parses a comma-separated list such as "c2,c2sp,c3".</summary>
    public static IReadOnlyList<ConvKind> ParseList(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToList();

    /// <summary>The padding of a (non-symmetric) kind at dilation d. Symmetric kinds pad per channel group:
    /// see <see cref="SymmetricPadding.GroupPadding"/>.</summary>
    public Padding2d SinglePadding(int dilation = 1)
    {
        if (IsSymmetric) throw new InvalidOperationException($"{this} pads each channel group differently; use SymmetricPadding.GroupPadding.");
        var total = dilation * (KernelSize - 1);
        var before = total / 2;
        return new Padding2d(before, total - before, before, total - before);
    }

    public override string ToString() => $"c{KernelSize}{(IsSymmetric ? "sp" : "")}";
}
