using EvenConv.Layers;
using static EvenConv.Tests.Reference.ReferencePadding;

namespace EvenConv.Tests.Reference;

/// <summary>
/// A convolution layer of any <see cref="ConvSpec"/> as plain float64 loops, and its input, weight and bias gradients
/// by direct summation (each tap's contribution added to the gradient it feeds). Stride mode <c>Pool</c> is an
/// s×s average pool with ceil (partial windows averaged over their valid pixels) followed by the stride-1 conv.
/// </summary>
internal sealed class ReferenceConv(ConvSpec spec)
{
    private bool Pools => spec.StrideMode == StrideMode.Pool && spec.Stride > 1;
    private int ConvStride => Pools ? 1 : spec.Stride;

    /// <summary>y = conv(pad(pool?(x)), w) + b; w is C_out × C_in/groups × k × k.</summary>
    public double[,,,] Forward(double[,,,] x, double[,,,] w, double[]? b = null)
    {
        var xp = Pad(Pools ? Pool(x) : x, spec.Kind, spec.Dilation);
        var y = NewOutput(x.GetLength(0), xp);
        ForEachTap(xp, y, (n, o, i, j, c, yi, xj, ki, kj) => y[n, o, i, j] += w[o, c % (spec.InChannels / spec.Groups), ki, kj] * xp[n, c, yi, xj]);
        if (b is not null) ForEachOutput(y, (n, o, i, j) => y[n, o, i, j] += b[o]);
        return y;
    }

    /// <summary>Gradients of Σ y·gy with respect to x, w and b.</summary>
    public (double[,,,] X, double[,,,] W, double[] B) Backward(double[,,,] x, double[,,,] w, double[,,,] gy)
    {
        var xp = Pad(Pools ? Pool(x) : x, spec.Kind, spec.Dilation);
        var gxp = new double[xp.GetLength(0), xp.GetLength(1), xp.GetLength(2), xp.GetLength(3)];
        var gw = new double[w.GetLength(0), w.GetLength(1), w.GetLength(2), w.GetLength(3)];
        var gb = new double[spec.OutChannels];
        var perGroup = spec.InChannels / spec.Groups;
        ForEachTap(xp, gy, (n, o, i, j, c, yi, xj, ki, kj) =>
        {
            gxp[n, c, yi, xj] += gy[n, o, i, j] * w[o, c % perGroup, ki, kj];
            gw[o, c % perGroup, ki, kj] += gy[n, o, i, j] * xp[n, c, yi, xj];
        });
        ForEachOutput(gy, (n, o, i, j) => gb[o] += gy[n, o, i, j]);
        var gPooled = Unpad(gxp, spec.Kind, spec.Dilation);
        return (Pools ? PoolBackward(gPooled, x) : gPooled, gw, gb);
    }

    /// <summary>s×s average pool, stride s, ceil mode, each window averaged over its pixels inside the input.</summary>
    public double[,,,] Pool(double[,,,] x)
    {
        var (n, c, h, w) = Shape(x);
        int s = spec.Stride, ho = (h + s - 1) / s, wo = (w + s - 1) / s;
        var y = new double[n, c, ho, wo];
        ForEachPoolTap(n, c, h, w, (b, ci, i, j, yi, xj, count) => y[b, ci, i, j] += x[b, ci, yi, xj] / count);
        return y;
    }

    private double[,,,] PoolBackward(double[,,,] gy, double[,,,] x)
    {
        var (n, c, h, w) = Shape(x);
        var gx = new double[n, c, h, w];
        ForEachPoolTap(n, c, h, w, (b, ci, i, j, yi, xj, count) => gx[b, ci, yi, xj] += gy[b, ci, i, j] / count);
        return gx;
    }

    private void ForEachPoolTap(int n, int c, int h, int w, Action<int, int, int, int, int, int, int> visit)
    {
        var s = spec.Stride;
        for (var b = 0; b < n; b++)
            for (var ci = 0; ci < c; ci++)
                for (var i = 0; i < (h + s - 1) / s; i++)
                    for (var j = 0; j < (w + s - 1) / s; j++)
                    {
                        int rows = Math.Min(s, h - i * s), cols = Math.Min(s, w - j * s);
                        for (var a = 0; a < rows; a++)
                            for (var e = 0; e < cols; e++)
                                visit(b, ci, i, j, i * s + a, j * s + e, rows * cols);
                    }
    }

    private double[,,,] NewOutput(int n, double[,,,] xp)
    {
        var extent = spec.Dilation * (spec.Kind.KernelSize - 1) + 1;
        return new double[n, spec.OutChannels, (xp.GetLength(2) - extent) / ConvStride + 1, (xp.GetLength(3) - extent) / ConvStride + 1];
    }

    /// <summary>Every (output pixel, input channel of its group, kernel tap) triple of a valid convolution over xp.</summary>
    private void ForEachTap(double[,,,] xp, double[,,,] output, Action<int, int, int, int, int, int, int, int, int> visit)
    {
        int k = spec.Kind.KernelSize, d = spec.Dilation, s = ConvStride;
        int perGroupIn = spec.InChannels / spec.Groups, perGroupOut = spec.OutChannels / spec.Groups;
        ForEachOutput(output, (n, o, i, j) =>
        {
            var first = o / perGroupOut * perGroupIn;
            for (var c = first; c < first + perGroupIn; c++)
                for (var ki = 0; ki < k; ki++)
                    for (var kj = 0; kj < k; kj++)
                        visit(n, o, i, j, c, i * s + ki * d, j * s + kj * d, ki, kj);
        });
    }

    private static void ForEachOutput(double[,,,] y, Action<int, int, int, int> visit)
    {
        var (n, c, h, w) = Shape(y);
        for (var b = 0; b < n; b++)
            for (var o = 0; o < c; o++)
                for (var i = 0; i < h; i++)
                    for (var j = 0; j < w; j++)
                        visit(b, o, i, j);
    }
}
