using static TorchSharp.torch;

namespace EvenConv.Analysis;

/// <summary>Mass and centroid of a non-negative 2-D map, in the map's own pixel coordinates (row, column).</summary>
public readonly record struct MapCentroid(double Mass, double Y, double X);

/// <summary>Small helpers over 2-D maps shared by the shift and erosion analyses.</summary>
public static class MapStatistics
{
    /// <summary>Mass-weighted centroid of <paramref name="map"/>[row, column]; NaN coordinates when the mass is 0.</summary>
    public static MapCentroid Centroid(double[,] map)
    {
        double mass = 0, sy = 0, sx = 0;
        for (var y = 0; y < map.GetLength(0); y++)
            for (var x = 0; x < map.GetLength(1); x++)
            {
                var v = map[y, x];
                mass += v;
                sy += v * y;
                sx += v * x;
            }
        return mass == 0 ? new(0, double.NaN, double.NaN) : new(mass, sy / mass, sx / mass);
    }

    /// <summary>A 2-D tensor (H, W) as a float64 array [row, column].</summary>
    public static double[,] ToArray(Tensor map)
    {
        if (map.dim() != 2) throw new ArgumentException($"Expected an (H, W) map, got shape [{string.Join(", ", map.shape)}].");
        using var d = map.detach().cpu().to_type(ScalarType.Float64).contiguous();
        var flat = d.data<double>().ToArray();
        int h = (int)map.shape[0], w = (int)map.shape[1];
        var result = new double[h, w];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }

    /// <summary>Mean of |F| over the batch and channels of an (N, C, H, W) tensor: an (H, W) map.</summary>
    public static Tensor MeanAbsMap(Tensor features) => features.abs().mean([0, 1]);
}
