using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Benchmarks;

/// <summary>
/// Times convolution variants side by side in one process. For each shape every variant is warmed up, then timed in
/// interleaved rounds (A B C … A B C …) so that changes in machine load fall on all variants alike; each sample
/// repeats the call until it lasts <see cref="ConvBenchmarkOptions.MinSampleMilliseconds"/>, and the reported time is
/// the median sample. "Forward" runs under no_grad; "forward+backward" also computes the gradients of the input and
/// every weight for a fixed random upstream gradient, as a training step does.
/// </summary>
public static class ConvBenchmark
{
    /// <summary>Runs the benchmark; <paramref name="progress"/> gets one line per finished step.</summary>
    public static ConvBenchmarkResult Run(ConvBenchmarkOptions options, Action<string>? progress = null, CancellationToken cancel = default)
    {
        var kinds = options.Kinds.Contains("c3") ? options.Kinds : ["c3", .. options.Kinds];
        foreach (var k in kinds)
            if (!ConvVariant.Names.Contains(k))
                throw new ArgumentException($"Unknown benchmark variant '{k}'. Choose from: {string.Join(", ", ConvVariant.Names)}.", nameof(options));
        var previousThreads = get_num_threads();
        if (options.Threads is { } threads)
            set_num_threads(threads >= 1 ? threads : throw new ArgumentException($"Threads must be at least 1, got {threads}.", nameof(options)));
        try
        {
            var rows = new List<ConvBenchmarkRow>();
            foreach (var shape in options.Shapes)
            {
                cancel.ThrowIfCancellationRequested();
                rows.AddRange(RunShape(shape, kinds, options, progress, cancel));
            }
            var peak = options.MeasurePeak ? MeasurePeak(options, progress) : null;
            return new ConvBenchmarkResult(rows, peak, options.Layout.ToString(), get_num_threads(), Runtime.AllocatorDescription(), options.Rounds,
                Runtime.C2spKernelsDescription());
        }
        finally
        {
            set_num_threads(previousThreads);
        }
    }

    private static List<ConvBenchmarkRow> RunShape(ConvBenchmarkShape shape, IReadOnlyList<string> kinds, ConvBenchmarkOptions options,
        Action<string>? progress, CancellationToken cancel)
    {
        manual_seed(options.Seed);
        var variants = kinds.Select(k => ConvVariant.Create(k, shape.Channels, options.Layout)).ToList();
        try
        {
            using var input = TensorLayout.To(randn(shape.Batch, shape.Channels, shape.Size, shape.Size), options.Layout);
            using var upstream = TensorLayout.To(randn(shape.Batch, shape.Channels, shape.Size, shape.Size), options.Layout);
            var forward = variants.Select(v => (Action)(() => Forward(v, input))).ToList();
            var training = variants.Select(v => (Action)(() => ForwardBackward(v, input, upstream))).ToList();
            var saved = variants.Select(v => SavedBytes(v, input)).ToList();
            progress?.Invoke($"{shape}: warming up {variants.Count} variants");
            var fwd = TimeInterleaved(forward, options, cancel);
            var fb = TimeInterleaved(training, options, cancel);
            var rows = new List<ConvBenchmarkRow>();
            for (var i = 0; i < variants.Count; i++)
            {
                var flops = variants[i].ForwardFlops(shape);
                rows.Add(new ConvBenchmarkRow(shape.Batch, shape.Channels, shape.Size, variants[i].Name,
                    InterleavedTimer.Median(fwd[i]), InterleavedTimer.Median(fb[i]), saved[i], 3 * flops / InterleavedTimer.Median(fb[i]) / 1e6, flops / InterleavedTimer.Median(fwd[i]) / 1e6,
                    fwd[i].Min(), fb[i].Min()));
            }
            var c3 = rows[0];
            progress?.Invoke($"{shape}: " + string.Join("  ", rows.Skip(1).Select(r => $"{r.Kind} {r.FwdBwdMs / c3.FwdBwdMs:F2}×")) + " of c3 (fwd+bwd)");
            return rows;
        }
        finally
        {
            foreach (var v in variants) v.Dispose();
        }
    }

    private static void Forward(ConvVariant v, Tensor input)
    {
        using var route = v.Enter();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        v.Forward(input);
    }

    private static void ForwardBackward(ConvVariant v, Tensor input, Tensor upstream)
    {
        using var route = v.Enter();
        using var scope = NewDisposeScope();
        var x = input.detach().requires_grad_();
        var y = v.Forward(x);
        autograd.grad([y], [x, .. v.Parameters], [upstream]);
    }

    /// <summary>
    /// Memory the graph keeps for backward: heap bytes in use after a forward with autograd, minus those after the
    /// same forward under no_grad (both with the output still alive), median of three. The input and weights exist in
    /// both, so only what the graph adds counts: saved intermediates (a padded copy, a concatenation), TorchSharp's
    /// per-Function output cache, and libtorch's node bookkeeping (a few hundred bytes).
    /// </summary>
    private static long? SavedBytes(ConvVariant v, Tensor input)
    {
        if (Runtime.HeapBytesInUse() is null) return null;
        long Extra(bool grad)
        {
            using var route = v.Enter();
            using var x = grad ? input.detach().requires_grad_() : input.alias();
            using var mode = grad ? enable_grad() : no_grad();
            var before = Runtime.HeapBytesInUse()!.Value;
            Tensor y;
            // The scope frees every intermediate the C# side still references; what survives is the output and,
            // with autograd, whatever its graph saved.
            using (var scope = NewDisposeScope()) y = v.Forward(x).DetachFromDisposeScope();
            var after = Runtime.HeapBytesInUse()!.Value;
            y.Dispose();
            return after - before;
        }
        Extra(true); Extra(false);
        var samples = Enumerable.Range(0, 3).Select(_ => Extra(true) - Extra(false)).Order().ToList();
        return Math.Max(0, samples[1]);
    }

    private static List<double>[] TimeInterleaved(IReadOnlyList<Action> actions, ConvBenchmarkOptions options, CancellationToken cancel) =>
        InterleavedTimer.Time(actions, options.WarmupCalls, options.Rounds, options.MinSampleMilliseconds, cancel);

    private static ConvBenchmarkPeak MeasurePeak(ConvBenchmarkOptions options, Action<string>? progress)
    {
        var shape = new ConvBenchmarkShape(32, 256, 28);
        progress?.Invoke($"peak: 3×3 convolution at {shape}");
        manual_seed(options.Seed);
        using var v = ConvVariant.Create("c3", shape.Channels, options.Layout);
        using var input = TensorLayout.To(randn(shape.Batch, shape.Channels, shape.Size, shape.Size), options.Layout);
        using var upstream = TensorLayout.To(randn(shape.Batch, shape.Channels, shape.Size, shape.Size), options.Layout);
        var peakOptions = options with { Rounds = Math.Max(3, options.Rounds / 3), WarmupCalls = 1, MinSampleMilliseconds = 0 };
        var t = TimeInterleaved([() => Forward(v, input), () => ForwardBackward(v, input, upstream)], peakOptions, CancellationToken.None);
        var flops = v.ForwardFlops(shape);
        return new ConvBenchmarkPeak(shape.ToString(), flops / InterleavedTimer.Median(t[0]) / 1e6, 3 * flops / InterleavedTimer.Median(t[1]) / 1e6);
    }
}
