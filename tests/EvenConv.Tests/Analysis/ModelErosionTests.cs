using EvenConv.Analysis;
using EvenConv.Data;
using EvenConv.Layers;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Analysis;

public class ModelErosionTests
{
    [Fact]
    public void Measures_Q_and_centroids_per_main_path_layer_from_image_files()
    {
        var dir = Directory.CreateTempSubdirectory("evenconv-erosion-");
        try
        {
            var data = WriteBlobFolder(dir.FullName, 5);
            var runs = new List<(ConvKind, ModelErosionResult)>();
            foreach (var kind in new[] { ConvKind.C2, ConvKind.C2sp })
            {
                using var model = Network(kind);
                var result = ModelErosion.Measure(model, data, new ModelErosionOptions { Images = 5, BatchSize = 2, ShownImages = 2 });
                runs.Add((kind, result));

                Assert.Equal(1 + 6, result.Layers.Count);
                Assert.Equal(PixelMean(data), result.Layers[0].Q, 6);
                Assert.Equal([16L, 16, 16, 8, 8, 8, 8], result.Layers.Select(l => l.Height).ToArray());
                // Layer 1 independently: the first convolution on every image.
                using (no_grad())
                {
                    var images = stack(Enumerable.Range(0, 5).Select(i => Image(data, i)).ToArray()).to_type(ScalarType.Float32) / 255;
                    var first = ((TorchSharp.Modules.Sequential)model)[0].call(images);
                    Assert.Equal(first.abs().mean().ToDouble(), result.Layers[1].Q, 5);
                }
                Assert.Equal([2, 6], result.StageEnds.Select(s => s.Layer.Index).ToArray());
                Assert.All(result.StageEnds, s => Assert.Equal(2, s.PerImage.Count));
                Assert.Equal(2, result.ShownImages.Count);
            }
            // Mean filters shift 'same'-padded C2 content up and left; C2sp keeps it where it was.
            var c2 = runs[0].Item2.Layers[^1];
            var c2sp = runs[1].Item2.Layers[^1];
            var input = runs[0].Item2.Layers[0];
            Assert.True(c2.CentroidY < input.CentroidY - 2 && c2.CentroidX < input.CentroidX - 2, $"C2 centroid {c2.CentroidY}, {c2.CentroidX}");
            Assert.InRange(c2sp.CentroidY - input.CentroidY, -1, 1);
            Assert.InRange(c2sp.CentroidX - input.CentroidX, -1, 1);

            var png = Path.Combine(dir.FullName, "out", "maps.png");
            AnalysisFigures.SaveFeatureMapGrid(png, "test", runs);
            using var bitmap = SKBitmap.Decode(png);
            Assert.True(bitmap.Width > 500 && bitmap.Height > 300);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    // Linear mean filters (so the expected drift is exact in sign) with one stride-2 step: 16×16 → 8×8.
    private static nn.Module<Tensor, Tensor> Network(ConvKind kind) => nn.Sequential(
        ("0", Conv.Create(new ConvSpec(3, 4, kind), w => w.fill_(1.0 / (3 * kind.KernelSize * kind.KernelSize)))),
        ("1", MeanFilters.Layer(kind, 4)),
        ("2", MeanFilters.Layer(kind, 4, stride: 2, mode: StrideMode.Pool)),
        ("3", MeanFilters.Layer(kind, 4)), ("4", MeanFilters.Layer(kind, 4)), ("5", MeanFilters.Layer(kind, 4)));

    private static ImageFolderDataset WriteBlobFolder(string root, int count)
    {
        var classDir = Directory.CreateDirectory(Path.Combine(root, "images", "blob")).FullName;
        for (var i = 0; i < count; i++)
        {
            using var bitmap = new SKBitmap(16, 16, SKColorType.Rgba8888, SKAlphaType.Opaque);
            for (var y = 0; y < 16; y++)
                for (var x = 0; x < 16; x++)
                {
                    var inside = (x - 8) * (x - 8) + (y - 7 - i % 2) * (y - 7 - i % 2) < 16;
                    bitmap.SetPixel(x, y, inside ? new SKColor(220, (byte)(100 + 20 * i), 60) : new SKColor(10, 20, 30));
                }
            using var file = File.Create(Path.Combine(classDir, $"{i}.png"));
            bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
        }
        return ImageFolderDataset.Open(Path.Combine(root, "images"), "blobs");
    }

    private static Tensor Image(IImageDataset data, int index)
    {
        var bytes = new byte[data.Channels * data.Height * data.Width];
        data.ReadImage(index, bytes);
        return tensor(bytes, [data.Channels, data.Height, data.Width]);
    }

    private static double PixelMean(IImageDataset data)
    {
        double sum = 0;
        var bytes = new byte[data.Channels * data.Height * data.Width];
        for (var i = 0; i < data.Count; i++)
        {
            data.ReadImage(i, bytes);
            sum += bytes.Sum(b => (double)b);
        }
        return sum / 255 / (data.Count * (double)bytes.Length);
    }
}
