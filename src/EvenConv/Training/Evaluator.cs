using EvenConv.Data;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Training;

/// <summary>Test loss (mean cross-entropy) and top-1 error (a fraction) over a data set.</summary>
public sealed record EvaluationResult(double Loss, double Error, int Count);

/// <summary>Evaluates a classifier: eval mode (BatchNorm running statistics), no gradients, the data set's order.</summary>
public static class Evaluator
{
    public static EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, BatchLoader loader, Device device)
    {
        var wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long wrong = 0, count = 0;
        try
        {
            using var _ = inference_mode();
            foreach (var batch in loader.Epoch(1))
            {
                using var scope = NewDisposeScope();
                var x = batch.Images().to(device);
                var y = batch.Targets().to(device);
                var logits = model.call(x);
                lossSum += F.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
                wrong += logits.argmax(1).ne(y).sum().item<long>();
                count += batch.Count;
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new EvaluationResult(lossSum / count, (double)wrong / count, (int)count);
    }

    /// <summary>Evaluates a checkpoint on the test split of <paramref name="data"/> (default: the data it was trained on),
    /// rebuilding its model with <paramref name="factory"/>.</summary>
    public static (CheckpointHeader Header, EvaluationResult Result) EvaluateCheckpoint(string checkpoint, string? data, string? dataDirectory,
        int batchSize, int? limit, ModelFactory factory)
    {
        var (header, tensors) = Checkpoint.Read(checkpoint);
        try
        {
            var config = header.Config;
            IImageDataset test = DataSets.Open(data ?? config.Data, DataSplit.Test, dataDirectory ?? config.DataDirectory);
            if (limit is { } n) test = new DatasetSubset(test, n);
            var device = Trainer.ResolveDevice(config.Device == "cuda" && !cuda.is_available() ? "cpu" : config.Device);
            using var model = factory(config, test);
            Checkpoint.LoadModel(model, tensors, checkpoint);
            model.to(device);
            return (header, Evaluate(model, TestLoader(test, header.Normalization, batchSize), device));
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>A loader over <paramref name="data"/> for evaluation: no augmentation, data set order.</summary>
    public static BatchLoader TestLoader(IImageDataset data, ChannelNormalization normalization, int batchSize) =>
        new(data, normalization, new BatchLoaderOptions { BatchSize = batchSize, Shuffle = false });
}
