using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using EvenConv.Ops;

namespace EvenConv.Data;

/// <summary>How a <see cref="BatchLoader"/> draws and prepares batches.</summary>
public sealed record BatchLoaderOptions
{
    /// <summary>Images per batch of this loader's shard (per rank in data-parallel training).</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>This loader's shard (0-based) of every batch, for the rank of a data-parallel job.</summary>
    public int Shard { get; init; }
    /// <summary>Shards every batch is split into (the job's ranks): a batch holds <see cref="BatchSize"/> × Shards images
    /// of the epoch's order, and each shard takes its own contiguous part of them.</summary>
    public int Shards { get; init; } = 1;
    /// <summary>Leave out the epoch's last batch when it has fewer images than shards, so that every shard has images
    /// in every batch (a data-parallel training step needs all ranks). At most Shards − 1 images an epoch go unused.</summary>
    public bool DropBatchSmallerThanShards { get; init; }
    /// <summary>Shuffle the order every epoch (training); evaluation keeps the data set's order.</summary>
    public bool Shuffle { get; init; }
    public AugmentationOptions Augmentation { get; init; } = AugmentationOptions.None;
    /// <summary>Seeds the shuffle and every augmentation draw.</summary>
    public ulong Seed { get; init; }
    public MemoryLayout Layout { get; init; } = TensorLayout.Default;
    /// <summary>Batches prepared ahead of the consumer.</summary>
    public int Prefetch { get; init; } = 3;
    /// <summary>Threads that prepare the samples of one batch (more help when images are decoded from files).</summary>
    public int Workers { get; init; } = 1;
}

/// <summary>
/// Prepares batches on a background thread, a bounded queue ahead of the training loop, and measures how long the
/// loop waits for them (stall time). Every batch is a pure function of (seed, epoch, batch index), so starting an
/// epoch at any batch — resuming — yields exactly the batches an uninterrupted run sees. Sharded (data-parallel),
/// each rank reads its own part of the same (seed, epoch)-keyed order, and a sample's augmentation is keyed by its
/// position in that order: the shards of a batch together are exactly the batch one process with Shards × the batch
/// size would see.
/// </summary>
public sealed class BatchLoader
{
    private const ulong ShuffleStream = 1, SampleStream = 2, MixupStream = 3;
    private readonly IImageDataset _data;
    private readonly ChannelNormalization _normalization;

    public BatchLoader(IImageDataset data, ChannelNormalization normalization, BatchLoaderOptions options)
    {
        if (options.BatchSize < 1) throw new ArgumentException($"batch size {options.BatchSize} must be ≥ 1.");
        if (normalization.Mean.Length != data.Channels || normalization.Std.Length != data.Channels)
            throw new ArgumentException($"{data.Name}: normalisation has {normalization.Mean.Length} channels, the images {data.Channels}.");
        if (options.Shards < 1 || (uint)options.Shard >= (uint)options.Shards)
            throw new ArgumentException($"shard {options.Shard} of {options.Shards} does not exist; shards are 0 … shards − 1.");
        options.Augmentation.Validate();
        (_data, _normalization, Options) = (data, normalization, options);
    }

    public BatchLoaderOptions Options { get; }

    /// <summary>The data set batches are drawn from.</summary>
    public IImageDataset Data => _data;

    /// <summary>Images of a whole batch, all shards together.</summary>
    public int GlobalBatchSize => Options.BatchSize * Options.Shards;

    /// <summary>Batches per epoch; the last one may be smaller.</summary>
    public int BatchesPerEpoch
    {
        get
        {
            var (full, rest) = Math.DivRem(_data.Count, GlobalBatchSize);
            return full + (rest >= (Options.DropBatchSmallerThanShards ? Options.Shards : 1) ? 1 : 0);
        }
    }

    /// <summary>Time the consumer of the latest <see cref="Epoch"/> spent waiting for batches.</summary>
    public TimeSpan StallTime { get; private set; }

    /// <summary>The batches of 1-based <paramref name="epoch"/> from <paramref name="firstBatch"/> on, prepared in the background.</summary>
    public IEnumerable<Batch> Epoch(int epoch, int firstBatch = 0, CancellationToken cancellation = default)
    {
        var order = Order(epoch);
        using var queue = new BlockingCollection<Batch>(Math.Max(1, Options.Prefetch));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        ExceptionDispatchInfo? failure = null;
        var producer = new Thread(() =>
        {
            try
            {
                for (var b = firstBatch; b < BatchesPerEpoch; b++)
                    if (Prepare(order, epoch, b) is { Count: > 0 } batch) queue.Add(batch, stop.Token); // a shard of a small last batch may be empty
            }
            catch (OperationCanceledException) { }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
            finally { queue.CompleteAdding(); }
        }) { IsBackground = true, Name = "evenconv-batches" };
        StallTime = TimeSpan.Zero;
        producer.Start();
        try
        {
            while (true)
            {
                var start = Stopwatch.GetTimestamp();
                var got = queue.TryTake(out var batch, Timeout.Infinite, cancellation);
                StallTime += Stopwatch.GetElapsedTime(start);
                if (!got) break;
                yield return batch!;
            }
            failure?.Throw();
        }
        finally
        {
            stop.Cancel();
            producer.Join();
        }
    }

    /// <summary>This shard of batch <paramref name="index"/> of <paramref name="epoch"/>, prepared on the calling thread.</summary>
    public Batch Prepare(int epoch, int index) => Prepare(Order(epoch), epoch, index);

    /// <summary>The order of the data set's images in <paramref name="epoch"/>.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, _data.Count).ToArray();
        if (!Options.Shuffle) return order;
        var random = new CounterRandom(Options.Seed, epoch, 0, ShuffleStream);
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private Batch Prepare(int[] order, int epoch, int index)
    {
        if ((uint)index >= (uint)BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(index), $"batch {index} of {BatchesPerEpoch}");
        // The batch's positions in the order, then this shard's part of them (equal parts; the last batch's may differ by one).
        var batchFirst = (long)index * GlobalBatchSize;
        var batchCount = Math.Min(GlobalBatchSize, _data.Count - batchFirst);
        var first = (int)(batchFirst + batchCount * Options.Shard / Options.Shards);
        var count = (int)(batchFirst + batchCount * (Options.Shard + 1) / Options.Shards) - first;
        var sampleSize = _data.Channels * _data.Height * _data.Width;
        var pixels = new float[count * sampleSize];
        var labels = new long[count];
        var channelsLast = Options.Layout == MemoryLayout.ChannelsLast;
        void PrepareSample(int i, byte[] image)
        {
            var position = first + i;
            _data.ReadImage(order[position], image);
            labels[i] = _data.Label(order[position]);
            var random = new CounterRandom(Options.Seed, epoch, position, SampleStream);
            SampleTransform.Apply(image, pixels.AsSpan(i * sampleSize, sampleSize), _data.Channels, _data.Height, _data.Width,
                _normalization, Options.Augmentation, ref random, channelsLast);
        }
        if (Options.Workers <= 1)
        {
            var image = new byte[sampleSize];
            for (var i = 0; i < count; i++) PrepareSample(i, image);
        }
        else
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Options.Workers },
                () => new byte[sampleSize], (i, _, image) => { PrepareSample(i, image); return image; }, _ => { });
        }
        var (mixLabels, mixWeights) = Mixup.Apply(Options.Augmentation, pixels, labels, sampleSize, new CounterRandom(Options.Seed, epoch, (long)index * Options.Shards + Options.Shard, MixupStream));
        return new Batch(epoch, index, _data.Channels, _data.Height, _data.Width, Options.Layout, pixels, labels, mixLabels, mixWeights);
    }
}
