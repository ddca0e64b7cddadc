using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using TorchSharp.Modules;

namespace EvenConv.Analysis;

/// <summary>
/// Reads the spatial map of a leaf module from its definition: EvenConv's <see cref="ConvLayer"/> (every kind,
/// stride mode and dilation), TorchSharp's Conv2d, ConvTranspose2d, average/max pooling, padding modules,
/// adaptive pooling and upsampling, and any module implementing <see cref="ISpatialMap"/>.
/// </summary>
public static class SpatialMaps
{
    /// <summary>The module's (Y, X) maps, or null when its type says nothing about space (BN, ReLU, a custom leaf).</summary>
    public static (AxisMap Y, AxisMap X)? Describe(torch.nn.Module module, long inputHeight, long inputWidth, long outputHeight, long outputWidth) =>
        module switch
        {
            ISpatialMap custom => custom.SpatialMap(inputHeight, inputWidth),
            ConvLayer conv => Of(conv.Spec),
            ConvTranspose2d t => (Transposed(t, 0), Transposed(t, 1)),
            Conv2d c => (Convolution(c, 0), Convolution(c, 1)),
            AvgPool2d p => (Pool(p.kernel_size, p.stride, p.padding, null, 0), Pool(p.kernel_size, p.stride, p.padding, null, 1)),
            MaxPool2d p => (Pool(p.kernel_size, p.stride, p.padding, p.dilation, 0), Pool(p.kernel_size, p.stride, p.padding, p.dilation, 1)),
            PadBase p => Pad(p.padding),
            AdaptiveAvgPool2d or AdaptiveMaxPool2d or Upsample =>
                (AxisMap.ExtentAligned(inputHeight, outputHeight), AxisMap.ExtentAligned(inputWidth, outputWidth)),
            _ => null,
        };

    /// <summary>The maps of an EvenConv convolution. Symmetric kinds pad each channel group differently; the map is
    /// their channel-weighted mean, which is exact for the centroid of a layer whose channels are alike.</summary>
    public static (AxisMap Y, AxisMap X) Of(ConvSpec spec)
    {
        var extent = spec.EffectiveKernel;
        var stride = spec.StrideMode == StrideMode.Pool ? 1 : spec.Stride;
        double top, left;
        if (spec.Kind.IsSymmetric)
        {
            var sizes = SymmetricPadding.GroupSizes(spec.InChannels);
            var pads = SymmetricPadding.GroupPadding(spec.Kind.KernelSize, spec.Dilation);
            top = Enumerable.Range(0, 4).Sum(g => sizes[g] * (double)pads[g].Top) / spec.InChannels;
            left = Enumerable.Range(0, 4).Sum(g => sizes[g] * (double)pads[g].Left) / spec.InChannels;
        }
        else
        {
            var pad = spec.Kind.SinglePadding(spec.Dilation);
            (top, left) = (pad.Top, pad.Left);
        }
        AxisMap y = AxisMap.Window(extent, stride, top), x = AxisMap.Window(extent, stride, left);
        if (spec.StrideMode == StrideMode.Pool && spec.Stride > 1)
        {
            var pool = AxisMap.Window(spec.Stride, spec.Stride, 0);
            (y, x) = (pool.Then(y), pool.Then(x));
        }
        return (y, x);
    }

    private static AxisMap Convolution(Conv2d c, int axis)
    {
        var extent = c.dilation[Pick(c.dilation, axis)] * (c.kernel_size[Pick(c.kernel_size, axis)] - 1) + 1;
        double before = c.padding_type switch
        {
            Padding.Same => (extent - 1) / 2,   // PyTorch 'same': the smaller half before, like TensorFlow.
            Padding.Valid => 0,
            _ => At(c.padding, axis, 0),
        };
        return AxisMap.Window(extent, c.stride[Pick(c.stride, axis)], before);
    }

    // Transposed convolution: output i = j·s − p + t·d, so output i is centred on input (i + p − (k_eff − 1)/2) / s.
    private static AxisMap Transposed(ConvTranspose2d t, int axis)
    {
        var extent = t.dilation[Pick(t.dilation, axis)] * (t.kernel_size[Pick(t.kernel_size, axis)] - 1) + 1;
        double s = t.stride[Pick(t.stride, axis)], p = At(t.padding, axis, 0);
        return new AxisMap(1 / s, (p - (extent - 1) / 2.0) / s, Math.Max(extent / s, 1));
    }

    private static AxisMap Pool(long[] kernel, long[]? stride, long[]? padding, long[]? dilation, int axis)
    {
        var d = dilation is { Length: > 0 } ? dilation[Pick(dilation, axis)] : 1;
        var extent = d * (kernel[Pick(kernel, axis)] - 1) + 1;
        var s = stride is { Length: > 0 } ? stride[Pick(stride, axis)] : kernel[Pick(kernel, axis)];
        var p = padding is { Length: > 0 } ? padding[Pick(padding, axis)] : 0;
        return AxisMap.Window(extent, s, p);
    }

    // Padding modules store (left, right, top, bottom), the order of torch.nn.functional.pad.
    private static (AxisMap Y, AxisMap X) Pad(long[] padding)
    {
        long left = padding[0], top = padding.Length >= 4 ? padding[2] : padding[0];
        return (new AxisMap(1, -top, 1), new AxisMap(1, -left, 1));
    }

    private static int Pick(long[] values, int axis) => values.Length > 1 ? axis : 0;

    private static long At(long[]? values, int axis, long missing) => values is { Length: > 0 } ? values[Pick(values, axis)] : missing;
}
