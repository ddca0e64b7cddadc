using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan.Frechet;

/// <summary>Progress of feature-network training.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="Steps">Steps in all.</param>
/// <param name="Loss">Cross-entropy of the last batch.</param>
/// <param name="ImagesPerSecond">Throughput so far.</param>
public sealed record FeatureNetProgress(int Step, int Steps, double Loss, double ImagesPerSecond);

/// <summary>Trains a <see cref="FeatureNet"/> classifier (Adam, cross-entropy) on the images the GAN sees.</summary>
public static class FeatureNetTrainer
{
    /// <summary>Trains for <paramref name="epochs"/> epochs on <paramref name="train"/>, measures accuracy on
    /// <paramref name="test"/> and saves the network to <paramref name="path"/>.</summary>
    public static FeatureNet Train(GanImages train, GanImages test, string path, int epochs = 2, int batchSize = 128, int seed = 0,
        IProgress<FeatureNetProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Train for at least one epoch.");
        var classes = train.Data.ClassNames.Count;
        if (classes < 2) throw new EvenConvException($"{train.Data.Name} has {classes} class(es); the feature network is a classifier and needs labelled data with at least two classes. Use --features inception:FILE for unlabelled image folders.");
        manual_seed(seed);
        var info = new FeatureNetInfo(train.Data.Name, train.Channels, train.Resolution, classes, epochs, double.NaN);
        var net = new FeatureNet(info);
        using var optimizer = optim.Adam(net.parameters(), 1e-3);
        var random = new Random(seed);
        var stepsPerEpoch = train.Count / batchSize;
        var steps = epochs * stepsPerEpoch;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        net.train();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var order = Enumerable.Range(0, train.Count).ToArray();
            random.Shuffle(order);
            for (var b = 0; b < stepsPerEpoch; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var indices = order.AsSpan(b * batchSize, batchSize);
                var labels = tensor(Labels(train, indices), dtype: int64);
                optimizer.zero_grad();
                var loss = F.cross_entropy(net.call(train.Batch(indices)), labels);
                loss.backward();
                optimizer.step();
                var step = epoch * stepsPerEpoch + b + 1;
                progress?.Report(new FeatureNetProgress(step, steps, loss.item<float>(), step * batchSize / clock.Elapsed.TotalSeconds));
            }
        }
        net.eval();
        net.Save(path, info with { TestAccuracy = Accuracy(net, test, batchSize) });
        return net;
    }

    /// <summary>Fraction of <paramref name="data"/> classified correctly.</summary>
    public static double Accuracy(FeatureNet net, GanImages data, int batchSize = 256)
    {
        long correct = 0;
        using var _ = no_grad();
        for (var start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var indices = Enumerable.Range(start, Math.Min(batchSize, data.Count - start)).ToArray();
            var predicted = net.call(data.Batch(indices)).argmax(1);
            correct += predicted.eq(tensor(Labels(data, indices), dtype: int64)).sum().item<long>();
        }
        return (double)correct / data.Count;
    }

    private static long[] Labels(GanImages data, ReadOnlySpan<int> indices)
    {
        var labels = new long[indices.Length];
        for (var i = 0; i < labels.Length; i++) labels[i] = data.Data.Label(indices[i]);
        return labels;
    }
}
