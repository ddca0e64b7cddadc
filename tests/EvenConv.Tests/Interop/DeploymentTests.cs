using System.Diagnostics;
using EvenConv.Data;
using EvenConv.Interop;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Tests.Data;
using EvenConv.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

/// <summary>The library behind `export`, `import` and `predict`: a checkpoint to ONNX and to a state dict and back, and
/// an exported file classifying image files as the model classifies the same pixels.</summary>
public class DeploymentTests : IDisposable
{
    private readonly TestData _data = new();
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

    [Fact]
    public void Checkpoint_goes_to_onnx_and_to_a_state_dict_and_back_to_the_same_model()
    {
        var checkpoint = WriteCheckpoint(out var config);
        using var trained = TrainedClassifier.FromCheckpoint(checkpoint);
        Assert.Equal((1, 12, 10, 4), (trained.Channels, trained.Height, trained.Width, trained.ClassNames.Count));
        var check = trained.SaveOnnx(Path.Combine(_dir, "m.onnx"), batchSize: 3);
        Assert.True(check.RelativeError < 1e-4, $"ONNX Runtime differs by {check.MaxAbsError:E2} at logits up to {check.OutputScale:F3}");

        var weights = Path.Combine(_dir, "m.safetensors");
        trained.SaveStateDict(weights);
        using var imported = TrainedClassifier.FromStateDict(weights, config);
        var reimported = Path.Combine(_dir, "imported.ckpt");
        imported.SaveCheckpoint(reimported);
        using var again = TrainedClassifier.FromCheckpoint(reimported);
        Assert.Equal(imported.Normalization.Mean, again.Normalization.Mean);
        var expected = trained.Model.state_dict();
        foreach (var (name, value) in again.Model.state_dict())
            Assert.True(value.equal(expected[name]).all().item<bool>(), $"{name} changed on the way");
    }

    [Fact]
    public void Cli_exports_predicts_imports_and_refuses_weights_of_another_model()
    {
        var checkpoint = WriteCheckpoint(out var config);
        var onnx = Path.Combine(_dir, "m.onnx");
        Assert.Contains("ONNX Runtime vs EvenConv on a random batch: max |Δlogit|", Cli(0, "export", "onnx", "--checkpoint", checkpoint, "--out", onnx));
        var image = Path.Combine(_dir, "x.png");
        File.WriteAllBytes(image, TestData.EncodeImage(10, 12, seed: 3, grey: true));
        Assert.Contains("x.png", Cli(0, "predict", "--onnx", onnx, image, "--top", "2"));
        var weights = Path.Combine(_dir, "m.pt");
        Cli(0, "export", "state-dict", "--checkpoint", checkpoint, "--out", weights);
        Cli(0, "import", "--weights", weights, "--model", config.Model, "--conv", config.Conv, "--data", config.Data, "--out", Path.Combine(_dir, "i.ckpt"));
        Assert.Contains("do not fit", Cli(1, "import", "--weights", weights, "--model", "resnet8", "--conv", "c2", "--data", config.Data, "--out", Path.Combine(_dir, "j.ckpt")));
        Assert.False(File.Exists(Path.Combine(_dir, "j.ckpt")));
    }

    /// <summary>A checkpoint of ResNet-8 C4sp (random weights and batch-norm statistics) for a 12×10 grey 4-class data set.</summary>
    private string WriteCheckpoint(out TrainingConfig config)
    {
        var data = _data.WriteIdxSet("shapes", count: 8, h: 12, w: 10, classes: 4);
        config = new TrainingConfig { Model = "resnet8", Conv = "c4sp", Data = data };
        var train = DataSets.Open(data, DataSplit.Train);
        var checkpoint = Path.Combine(_dir, "last.ckpt");
        using var model = InteropModels.WithRandomStatistics(ClassifierModels.Create(config, train));
        Checkpoint.Save(checkpoint, new CheckpointHeader(config, new TrainingPosition(), [], ChannelNormalization.For(train), DateTime.UtcNow), model, null);
        return checkpoint;
    }

    private static string Cli(int exitCode, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EvenConv.Cli.dll"));
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["COLUMNS"] = "200";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "the CLI did not finish");
        var text = stdout + stderr.Result;
        Assert.True(process.ExitCode == exitCode, $"{string.Join(' ', arguments)}: exit {process.ExitCode}, expected {exitCode}:\n{text}");
        return text;
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

    public void Dispose()
    {
        _data.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
