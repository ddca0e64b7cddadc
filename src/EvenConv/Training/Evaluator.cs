using EvenConv.Data;
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

    /// <summary>A loader over <paramref name="data"/> for evaluation: no augmentation, data set order.</summary>
    public static BatchLoader TestLoader(IImageDataset data, ChannelNormalization normalization, int batchSize) =>
        new(data, normalization, new BatchLoaderOptions { BatchSize = batchSize, Shuffle = false });
}
