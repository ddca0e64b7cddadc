using EvenConv.Data;
using EvenConv.Interop.Onnx;
using EvenConv.Interop.PyTorch;
using EvenConv.Training;
using static TorchSharp.torch;

namespace EvenConv.Interop;

/// <summary>
/// A classifier with everything needed to ship it: the model in eval mode, the training configuration it was made
/// with (model name, kernel kind, data set), the input shape and class names of its data set and the input
/// normalisation. Comes from a training checkpoint or from a PyTorch state dict, and goes to ONNX, a state dict or a
/// checkpoint (docs/deploying.md).
/// </summary>
public sealed class TrainedClassifier : IDisposable
{
    private TrainedClassifier(nn.Module<Tensor, Tensor> model, TrainingConfig config, IImageDataset data, ChannelNormalization normalization)
    {
        Model = model;
        Config = config;
        (Channels, Height, Width, ClassNames) = (data.Channels, data.Height, data.Width, data.ClassNames.ToArray());
        Normalization = normalization;
        model.eval();
    }

    public nn.Module<Tensor, Tensor> Model { get; }

    /// <summary>The run's configuration: <see cref="TrainingConfig.Model"/>, <see cref="TrainingConfig.Conv"/> and
    /// <see cref="TrainingConfig.Data"/> define the network.</summary>
    public TrainingConfig Config { get; }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>What the inputs are normalised with (0–255 scale).</summary>
    public ChannelNormalization Normalization { get; }

    /// <summary>The model of a training checkpoint; its data set (test split) is opened for the input shape and class
    /// names, from <paramref name="dataDirectory"/> or where the run found it.</summary>
    public static TrainedClassifier FromCheckpoint(string checkpoint, string? dataDirectory = null)
    {
        var (header, tensors) = Checkpoint.Read(checkpoint);
        try
        {
            var data = DataSets.Open(header.Config.Data, DataSplit.Test, dataDirectory ?? header.Config.DataDirectory);
            return Build(header.Config, data, header.Normalization, model => Checkpoint.LoadModel(model, tensors, checkpoint));
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>The model <paramref name="config"/> names (model, conv, data) with the weights of a state-dict file
    /// (<see cref="StateDictFile"/>, strict); inputs get the data set's usual normalisation.</summary>
    public static TrainedClassifier FromStateDict(string weights, TrainingConfig config, string? dataDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var train = DataSets.Open(config.Data, DataSplit.Train, dataDirectory ?? config.DataDirectory);
        return Build(config, train, ChannelNormalization.For(train), model => StateDictFile.Load(model, weights));
    }

    private static TrainedClassifier Build(TrainingConfig config, IImageDataset data, ChannelNormalization normalization, Action<nn.Module> load)
    {
        var model = ClassifierModels.Create(config, data);
        try
        {
            load(model);
            return new TrainedClassifier(model, config, data, normalization);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Writes an eval-mode checkpoint (no optimizer state) that <c>eval</c>, <c>export</c> and
    /// <see cref="FromCheckpoint"/> read.</summary>
    public void SaveCheckpoint(string path) =>
        Checkpoint.Save(path, new CheckpointHeader(Config with { Epochs = 0 }, new TrainingPosition(), [], Normalization, DateTime.UtcNow), Model, null);

    /// <summary>Writes the weights as a PyTorch state dict (<see cref="StateDictFile"/>).</summary>
    public void SaveStateDict(string path) => StateDictFile.Save(Model, path);

    /// <summary>Writes the ONNX file with the class names and normalisation as metadata, then runs it in ONNX Runtime
    /// on a seeded random batch (standard-normal inputs, what normalised images look like) next to the model.</summary>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="batchSize">A fixed batch size, or null for a dynamic one.</param>
    /// <param name="foldBatchNorm">See <see cref="OnnxExportOptions.FoldBatchNorm"/>.</param>
    public OnnxVerificationResult SaveOnnx(string path, int? batchSize = null, bool foldBatchNorm = true)
    {
        var metadata = new OnnxModelMetadata(Config.Model, Config.Conv, ClassNames, Normalization);
        var options = new OnnxExportOptions(Channels, Height, Width, batchSize, foldBatchNorm) { Metadata = metadata.ToProperties() };
        var proto = OnnxExporter.Save(Model, path, options);
        using var input = randn([batchSize ?? 4, Channels, Height, Width], generator: new Generator(1));
        return OnnxVerification.Compare(Model, proto, input);
    }

    public void Dispose() => Model.Dispose();
}
