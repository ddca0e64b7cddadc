using EvenConv.Data;
using EvenConv.Interop;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

/// <summary>The library behind `export`, `import` and `predict`: a checkpoint to ONNX and to a state dict and back, and
/// an exported file classifying image files as the model classifies the same pixels.</summary>
public class DeploymentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("evenconv-deploy-").FullName;

    [Fact]
    public void Predict_on_image_files_gives_the_models_probabilities()
    {
        var norm = new ChannelNormalization([120f, 110f, 100f], [60f, 50f, 70f]);
        var options = new ModelOptions(ConvKind.C2sp, 3, 5, 12, 10);
        using var model = InteropModels.WithRandomStatistics(ModelRegistry.Create("resnet20", options));
        var metadata = new OnnxModelMetadata("resnet20", "c2sp", ["a", "b", "c", "d", "e"], norm);
        var onnx = Path.Combine(_dir, "m.onnx");
        OnnxExporter.Save(model, onnx, new OnnxExportOptions(3, 12, 10) { Metadata = metadata.ToProperties() });

        var generator = new Random(4);
        var pixels = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 3 * 12 * 10).Select(_ => (byte)generator.Next(256)).ToArray()).ToArray();
        var paths = pixels.Select((p, i) => WritePng(Path.Combine(_dir, $"{i}.png"), p, 12, 10)).ToArray();

        using var classifier = OnnxClassifier.Open(onnx);
        Assert.Equal(metadata.ClassNames, classifier.Metadata.ClassNames);
        var predictions = classifier.Predict(paths, top: 5);

        model.eval();
        using var _ = inference_mode();
        using var images = tensor(pixels.SelectMany(p => p).Select(b => (float)b).ToArray(), [3, 3, 12, 10]);
        using var input = (images - tensor(norm.Mean).view(1, 3, 1, 1)) / tensor(norm.Std).view(1, 3, 1, 1);
        using var probabilities = model.call(input).softmax(1);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(paths[i], predictions[i].Path);
            var expected = probabilities[i].data<float>().ToArray();
            Assert.Equal(expected.Max(), predictions[i].Top[0].Probability, 1e-5);
            foreach (var (k, label, p) in predictions[i].Top)
            {
                Assert.Equal(metadata.ClassNames![k], label);
                Assert.Equal(expected[k], p, 1e-5);
            }
        }
        File.WriteAllText(paths[0], "no image");
        Assert.Contains("not a readable PNG or JPEG", Assert.Throws<InvalidDataException>(() => classifier.Predict(paths)).Message);
    }

    [SkippableFact]
    public void Checkpoint_goes_to_onnx_and_to_a_state_dict_and_back_to_the_same_model()
    {
        var config = new TrainingConfig { Model = "resnet20", Conv = "c4sp", Data = "fashion-mnist" };
        IImageDataset test;
        try { test = DataSets.Open(config.Data, DataSplit.Test); }
        catch (EvenConvException e) { throw new SkipException($"needs Fashion-MNIST ({e.Message})"); }
        var checkpoint = Path.Combine(_dir, "last.ckpt");
        using (var model = InteropModels.WithRandomStatistics(ClassifierModels.Create(config, test)))
            Checkpoint.Save(checkpoint, new CheckpointHeader(config, new TrainingPosition(), [], ChannelNormalization.FashionMnist, DateTime.UtcNow), model, null);

        using var trained = TrainedClassifier.FromCheckpoint(checkpoint);
        Assert.Equal((1, 28, 28, 10), (trained.Channels, trained.Height, trained.Width, trained.ClassNames.Count));
        var check = trained.SaveOnnx(Path.Combine(_dir, "m.onnx"), batchSize: 3);
        Assert.True(check.RelativeError < 1e-4, $"ONNX Runtime differs by {check.MaxAbsError:E2} at logits up to {check.OutputScale:F3}");

        var weights = Path.Combine(_dir, "m.safetensors");
        trained.SaveStateDict(weights);
        using var imported = TrainedClassifier.FromStateDict(weights, config);
        var reimported = Path.Combine(_dir, "imported.ckpt");
        imported.SaveCheckpoint(reimported);
        using var again = TrainedClassifier.FromCheckpoint(reimported);
        Assert.Equal(ChannelNormalization.FashionMnist.Mean, again.Normalization.Mean);
        var expected = trained.Model.state_dict();
        foreach (var (name, value) in again.Model.state_dict())
            Assert.True(value.equal(expected[name]).all().item<bool>(), $"{name} changed on the way");
    }

    private static string WritePng(string path, byte[] chw, int height, int width)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var plane = height * width;
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var i = y * width + x;
                bitmap.SetPixel(x, y, new SKColor(chw[i], chw[plane + i], chw[2 * plane + i]));
            }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
