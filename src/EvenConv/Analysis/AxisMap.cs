namespace EvenConv.Analysis;

/// <summary>
/// Where one layer's output pixels sit on its input grid, along one axis: output pixel i is centred on input
/// position <c>Shift + Stride·i</c> (pixel-centre coordinates) and reads a window <c>Extent</c> input pixels wide.
/// A k-tap convolution with stride s and padding p before the data has Stride s, Shift (k−1)/2 − p, Extent k.
/// </summary>
public readonly record struct AxisMap(double Stride, double Shift, double Extent)
{
    /// <summary>No spatial change (a pointwise layer).</summary>
    public static AxisMap Identity => new(1, 0, 1);

    /// <summary>A k-tap window (k = the dilated extent) with stride s and <paramref name="padBefore"/> zero rows or
    /// columns before the data: convolution and pooling alike.</summary>
    public static AxisMap Window(double extent, double stride, double padBefore) => new(stride, (extent - 1) / 2 - padBefore, extent);

    /// <summary>A resampling from <paramref name="inputSize"/> to <paramref name="outputSize"/> pixels that keeps the
    /// map aligned with the image extent (adaptive pooling, nearest/bilinear upsampling without align_corners).</summary>
    public static AxisMap ExtentAligned(long inputSize, long outputSize)
    {
        var ratio = inputSize / (double)outputSize;
        return new(ratio, (ratio - 1) / 2, Math.Max(ratio, 1));
    }

    /// <summary>This map followed by <paramref name="next"/> (next reads this map's output).</summary>
    public AxisMap Then(AxisMap next) => new(Stride * next.Stride, Shift + Stride * next.Shift, Extent + (next.Extent - 1) * Stride);
}

/// <summary>
/// Implement on a custom module whose spatial effect the shift analysis cannot read from its type (one that pads,
/// pools or resamples inside its forward). Leaves of known types (EvenConv's ConvLayer, TorchSharp's convolutions,
/// pools, pads, upsampling) are handled without it.
/// </summary>
public interface ISpatialMap
{
    /// <summary>The module's (vertical, horizontal) maps for an input of the given size.</summary>
    (AxisMap Y, AxisMap X) SpatialMap(long inputHeight, long inputWidth);
}
