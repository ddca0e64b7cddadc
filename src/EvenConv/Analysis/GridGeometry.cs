namespace EvenConv.Analysis;

/// <summary>
/// Where a feature map sits on the network input, per axis, in input pixels: output pixel i is centred on input
/// position <c>Origin + Scale·i</c>, and its receptive field is <c>ReceptiveField</c> input pixels wide.
/// </summary>
public readonly record struct AxisGeometry(double Origin, double Scale, double ReceptiveField)
{
    /// <summary>The input itself.</summary>
    public static AxisGeometry Input => new(0, 1, 1);

    /// <summary>
    /// How far the grid sits from the position that is symmetric with respect to the input (pixel i of a map with
    /// scale s centred on <c>(s−1)/2 + s·i</c>, i.e. covering the same extent as the image). Positive: each output
    /// pixel reads input from below/right of its nominal place, so image content appears moved up/left by this much.
    /// </summary>
    public double Offset => Origin - (Scale - 1) / 2;

    /// <summary>The geometry after a layer with map <paramref name="map"/>.</summary>
    public AxisGeometry Through(AxisMap map) =>
        new(Origin + Scale * map.Shift, Scale * map.Stride, ReceptiveField + (map.Extent - 1) * Scale);
}
