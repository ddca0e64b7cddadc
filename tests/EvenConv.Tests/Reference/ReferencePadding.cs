using EvenConv.Layers;

namespace EvenConv.Tests.Reference;

/// <summary>
/// Zero padding of every channel, written from paper.md (§2.2, Decisions 1–3) without the library's padding code:
/// odd kernels centred, plain even kernels 'same' (d(k−1)//2 before, the rest after), symmetric kinds per channel
/// group in the authors' order, the first C % 4 groups one channel larger.
/// </summary>
internal static class ReferencePadding
{
    /// <summary>The authors' C2sp table, (top, bottom, left, right) per group in channel order.</summary>
    public static readonly (int Top, int Bottom, int Left, int Right)[] C2spGroups = [(0, 1, 0, 1), (1, 0, 1, 0), (0, 1, 1, 0), (1, 0, 0, 1)];

    /// <summary>The group (0–3) of channel <paramref name="channel"/> out of <paramref name="channels"/>.</summary>
    public static int GroupOf(int channel, int channels)
    {
        var end = 0;
        for (var g = 0; g < 4; g++)
        {
            end += channels / 4 + (g < channels % 4 ? 1 : 0);
            if (channel < end) return g;
        }
        throw new ArgumentOutOfRangeException(nameof(channel));
    }

    /// <summary>Padding of one channel for a kernel of size k with dilation d.</summary>
    public static (int Top, int Bottom, int Left, int Right) Of(ConvKind kind, int dilation, int channel, int channels)
    {
        var total = dilation * (kind.KernelSize - 1);
        switch (kind.Scheme)
        {
            case PaddingScheme.Symmetric:
                var baseline = dilation * (kind.KernelSize / 2 - 1);
                var (t, b, l, r) = C2spGroups[GroupOf(channel, channels)];
                return (baseline + dilation * t, baseline + dilation * b, baseline + dilation * l, baseline + dilation * r);
            default: // centred (odd k: total is even) and 'same' (even k: the odd pixel goes after)
                var before = total / 2;
                return (before, total - before, before, total - before);
        }
    }

    /// <summary>x zero-padded channel by channel.</summary>
    public static double[,,,] Pad(double[,,,] x, ConvKind kind, int dilation)
    {
        var (n, c, h, w) = Shape(x);
        var total = dilation * (kind.KernelSize - 1);
        var y = new double[n, c, h + total, w + total];
        for (var ci = 0; ci < c; ci++)
        {
            var (top, _, left, _) = Of(kind, dilation, ci, c);
            for (var b = 0; b < n; b++)
                for (var i = 0; i < h; i++)
                    for (var j = 0; j < w; j++)
                        y[b, ci, i + top, j + left] = x[b, ci, i, j];
        }
        return y;
    }

    /// <summary>The adjoint of <see cref="Pad"/>: the gradient of the unpadded input given that of the padded one.</summary>
    public static double[,,,] Unpad(double[,,,] padded, ConvKind kind, int dilation)
    {
        var (n, c, hp, wp) = Shape(padded);
        var total = dilation * (kind.KernelSize - 1);
        var x = new double[n, c, hp - total, wp - total];
        for (var ci = 0; ci < c; ci++)
        {
            var (top, _, left, _) = Of(kind, dilation, ci, c);
            for (var b = 0; b < n; b++)
                for (var i = 0; i < hp - total; i++)
                    for (var j = 0; j < wp - total; j++)
                        x[b, ci, i, j] = padded[b, ci, i + top, j + left];
        }
        return x;
    }

    public static (int N, int C, int H, int W) Shape(double[,,,] a) => (a.GetLength(0), a.GetLength(1), a.GetLength(2), a.GetLength(3));
}
