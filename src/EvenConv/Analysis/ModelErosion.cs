using EvenConv.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Analysis;

/// <summary>What to measure on a real network and how to feed it.</summary>
public sealed record ModelErosionOptions
{
    /// <summary>Images averaged, taken from the start of the data set (0: all).</summary>
    public int Images { get; init; } = 256;

    /// <summary>Images per forward pass.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Images whose individual feature maps are kept for the figure (the first ones).</summary>
    public int ShownImages { get; init; } = 3;

    /// <summary>Turns a batch of 8-bit images (N, C, H, W, uint8) into the model's input; default: scale to [0, 1].
    /// Use the normalisation the model was trained with.</summary>
    public Func<Tensor, Tensor>? Preprocess { get; init; }
}

/// <summary>Q_n and the activation centroid of one main-path layer, averaged over images.</summary>
/// <param name="Index">0 for the input, then 1, 2, … along the main path.</param>
/// <param name="Name">Module path, or "input".</param>
/// <param name="Height">Map height.</param>
/// <param name="Width">Map width.</param>
/// <param name="Q">mean |F| over images, channels and positions.</param>
/// <param name="CentroidY">Centroid of the mean |F| map, in input pixels from the image centre (negative: up).</param>
/// <param name="CentroidX">Same, horizontal (negative: left).</param>
public sealed record ErosionLayer(int Index, string Name, long Height, long Width, double Q, double CentroidY, double CentroidX);

/// <summary>Feature maps at the end of one stage (the last layer before the map size changes, and the last layer).</summary>
/// <param name="Layer">The layer.</param>
/// <param name="Mean">mean |F| over all images and channels, [row, column].</param>
/// <param name="PerImage">mean |F| over channels, for each shown image.</param>
public sealed record StageEndMaps(ErosionLayer Layer, double[,] Mean, IReadOnlyList<double[,]> PerImage);

/// <summary>The erosion measured on a network and data set (Decision 6b).</summary>
public sealed record ModelErosionResult(string Dataset, int Images, IReadOnlyList<ErosionLayer> Layers, IReadOnlyList<StageEndMaps> StageEnds,
    IReadOnlyList<byte[]> ShownImages, int Channels, int Height, int Width);

/// <summary>
/// Measures Q_n and the activation centroid layer by layer on a real network from real images: the outputs of the
/// main-path layers found by <see cref="ShiftTracer"/> (convolutions, pools, in execution order; shortcut branches
/// left out), averaged over images; plus the maps at the stage ends for the poster's "C2 / C2sp / -all" figure.
/// </summary>
public static class ModelErosion
{
    /// <summary>Measures <paramref name="model"/> (eval mode, no gradients) on the first images of <paramref name="data"/>.</summary>
    public static ModelErosionResult Measure(nn.Module<Tensor, Tensor> model, IImageDataset data, ModelErosionOptions? options = null)
    {
        options ??= new ModelErosionOptions();
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "Batch size must be at least 1.");
        var count = options.Images <= 0 ? data.Count : Math.Min(options.Images, data.Count);
        if (count == 0) throw new ArgumentException($"Data set '{data.Name}' has no images to measure.");
        var preprocess = options.Preprocess ?? (b => b.to_type(ScalarType.Float32).div_(255));
        var shown = Math.Min(options.ShownImages, count);

        var plan = ShiftTracer.Trace(model, data.Channels, data.Height, data.Width).MainPath;
        var position = plan.Select((l, i) => (l.Index, i)).ToDictionary(p => p.Index, p => p.i);
        var stageEnds = Enumerable.Range(0, plan.Count)
            .Where(i => i == plan.Count - 1 || plan[i + 1].Height != plan[i].Height || plan[i + 1].Width != plan[i].Width).ToList();

        var sumAbs = new double[plan.Count + 1];
        var meanMaps = new Tensor?[plan.Count + 1];
        var perImage = stageEnds.ToDictionary(i => i, _ => new List<double[,]>());
        var images = new List<byte[]>();
        long elementsPerImage0 = 0;
        var elementsPerImage = new long[plan.Count];
        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        for (var start = 0; start < count; start += options.BatchSize)
        {
            using var step = NewDisposeScope();
            var n = Math.Min(options.BatchSize, count - start);
            var batch = ReadBatch(data, start, n);
            for (var i = 0; i < n && images.Count < shown; i++) images.Add(batch[i].data<byte>().ToArray());
            var x = preprocess(batch);
            elementsPerImage0 = x.shape[1] * x.shape[2] * x.shape[3];
            Accumulate(ref meanMaps[0], x, ref sumAbs[0]);
            ShiftTracer.Trace(model, x, (layer, output) =>
            {
                if (!position.TryGetValue(layer.Index, out var p)) return;
                elementsPerImage[p] = output.shape[1] * output.shape[2] * output.shape[3];
                Accumulate(ref meanMaps[p + 1], output, ref sumAbs[p + 1]);
                if (perImage.TryGetValue(p, out var maps))
                    for (var i = 0; i < n && maps.Count < shown; i++)
                        maps.Add(MapStatistics.ToArray(output[i].abs().mean([0])));
            });
        }

        var layers = new List<ErosionLayer>(plan.Count + 1);
        for (var p = 0; p <= plan.Count; p++)
        {
            var map = MapStatistics.ToArray(meanMaps[p]! / count);
            var c = MapStatistics.Centroid(map);
            long h = map.GetLength(0), w = map.GetLength(1);
            double sy = data.Height / (double)h, sx = data.Width / (double)w;
            // Map pixel i sits at (s−1)/2 + s·i on the input grid; report from the image centre.
            var name = p == 0 ? "input" : plan[p - 1].Name;
            var elements = p == 0 ? elementsPerImage0 : elementsPerImage[p - 1];
            layers.Add(new ErosionLayer(p, name, h, w, sumAbs[p] / (count * (double)elements),
                (sy - 1) / 2 + sy * c.Y - (data.Height - 1) / 2.0, (sx - 1) / 2 + sx * c.X - (data.Width - 1) / 2.0));
        }
        var ends = stageEnds.Select(i => new StageEndMaps(layers[i + 1], MapStatistics.ToArray(meanMaps[i + 1]! / count), perImage[i])).ToList();
        foreach (var m in meanMaps) m?.Dispose();
        return new ModelErosionResult(data.Name, count, layers, ends, images, data.Channels, data.Height, data.Width);
    }

    // Sums of |F| over the batch: the (H, W) map summed over images and averaged over channels, and the grand total.
    private static void Accumulate(ref Tensor? map, Tensor features, ref double total)
    {
        using var abs = features.detach().abs().to_type(ScalarType.Float64);
        total += abs.sum().ToDouble();
        var batchMap = abs.mean([1]).sum([0]).DetachFromDisposeScope();
        if (map is null) map = batchMap;
        else
        {
            map.add_(batchMap);
            batchMap.Dispose();
        }
    }

    private static Tensor ReadBatch(IImageDataset data, int start, int n)
    {
        var size = data.Channels * data.Height * data.Width;
        var buffer = new byte[n * size];
        for (var i = 0; i < n; i++) data.ReadImage(start + i, buffer.AsSpan(i * size, size));
        return tensor(buffer, [n, data.Channels, data.Height, data.Width]);
    }
}
