using EvenConv.Complexity;
using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Benchmarks;

/// <summary>What <see cref="TrainStepBenchmark"/> measures.</summary>
public sealed record TrainStepBenchmarkOptions
{
    /// <summary>Network depths: the paper's 20, 56 and 110 layers.</summary>
    public IReadOnlyList<int> Layers { get; init; } = [20, 56, 110];

    /// <summary>Blocks by name (see <see cref="TrainStepBenchmark.Blocks"/>).</summary>
    public IReadOnlyList<string> Blocks { get; init; } = TrainStepBenchmark.Blocks;

    /// <summary>Images per training step (CIFAR size, 32×32×3).</summary>
    public int Batch { get; init; } = 128;

    /// <summary>Interleaved timing rounds per depth; the step time is their median.</summary>
    public int Rounds { get; init; } = 7;

    /// <summary>Untimed steps per network before timing (first steps pay for kernel selection).</summary>
    public int WarmupSteps { get; init; } = 2;

    /// <summary>Memory layout of inputs and weights.</summary>
    public MemoryLayout Layout { get; init; } = TensorLayout.Default;

    public int Seed { get; init; } = 1;

    /// <summary>Fewer rounds, a smaller batch.</summary>
    public static TrainStepBenchmarkOptions Quick => new() { Rounds = 3, WarmupSteps = 1, Batch = 64 };
}

/// <summary>One network of the comparison. Times are medians per training step; memory is a measured peak.</summary>
/// <param name="Layers">Depth of the network.</param>
/// <param name="Block">Block name: c3, c2sp, dwsep, mbv2 or shift.</param>
/// <param name="Model">Registry name of the network.</param>
/// <param name="StepMs">Median time of one training step (forward, cross-entropy, backward, SGD update).</param>
/// <param name="ImagesPerSecond">Batch divided by the step time.</param>
/// <param name="PeakBytes">Measured peak memory of one step above the model's resident state (see <see cref="TrainingMemory"/>).</param>
/// <param name="ActivationBytes">The authors' estimate: conv and BN output elements × 4 bytes × batch.</param>
/// <param name="Params">Parameters.</param>
/// <param name="Macs">Multiply-accumulates per image.</param>
public sealed record TrainStepRow(int Layers, string Block, string Model, double StepMs, double ImagesPerSecond, long PeakBytes,
    long ActivationBytes, long Params, long Macs);

/// <summary>
/// The paper's training-overhead comparison (§3.5, Decision 9): CIFAR networks of 20, 56 and 110 layers built from C3
/// and C2sp basic blocks, depthwise-separable blocks, MobileNetV2 inverted bottlenecks and Shift-CSC blocks, trained
/// side by side in one process. Steps of the networks of one depth are interleaved, so load changes hit all alike.
/// </summary>
public static class TrainStepBenchmark
{
    /// <summary>The blocks compared, in the paper's figure order with the baseline first.</summary>
    public static IReadOnlyList<string> Blocks { get; } = ["c3", "c2sp", "dwsep", "mbv2", "shift"];

    /// <summary>The C2sp network with batch norm, activation and convolution as three ops (<see cref="PreActivationConv.UseSeparateOps"/>):
    /// not in the default comparison; asked for, it shows what the fused pre-activation saves.</summary>
    public const string SeparateOpsC2sp = "c2sp_unfused";

    /// <summary>The registry model and kernel kind of a block at a depth.</summary>
    public static (string Model, ConvKind Conv) Network(string block, int layers) => block switch
    {
        "c3" => ($"resnet{layers}", ConvKind.C3),
        "c2sp" or SeparateOpsC2sp => ($"resnet{layers}", ConvKind.C2sp),
        "dwsep" => ($"resnet{layers}_dws", ConvKind.C3),
        "mbv2" => ($"mobilenetv2_cifar{layers}", ConvKind.C3),
        "shift" => ($"shift_csc{layers}", ConvKind.C3),
        _ => throw new ArgumentException($"Unknown block '{block}'. Choose from: {string.Join(", ", Blocks)}, {SeparateOpsC2sp}.", nameof(block)),
    };

    /// <summary>Runs the comparison; <paramref name="progress"/> gets a line per finished stage.</summary>
    public static IReadOnlyList<TrainStepRow> Run(TrainStepBenchmarkOptions options, Action<string>? progress = null, CancellationToken cancel = default)
    {
        foreach (var layers in options.Layers)
            foreach (var block in options.Blocks)
                if (!ModelRegistry.Contains(Network(block, layers).Model))
                    throw new ArgumentException($"No {block} network with {layers} layers; the compact families exist at 20, 56 and 110 layers.", nameof(options));
        var rows = new List<TrainStepRow>();
        foreach (var layers in options.Layers)
        {
            cancel.ThrowIfCancellationRequested();
            rows.AddRange(RunDepth(layers, options, progress, cancel));
        }
        return rows;
    }

    private static List<TrainStepRow> RunDepth(int layers, TrainStepBenchmarkOptions options, Action<string>? progress, CancellationToken cancel)
    {
        var nets = new List<Trainee>();
        try
        {
            var costs = new List<(long Peak, ComplexityReport Count)>();
            foreach (var block in options.Blocks)
            {
                var (name, conv) = Network(block, layers);
                var modelOptions = ModelOptions.Cifar(conv);
                progress?.Invoke($"{layers} layers: measuring memory of {block} ({name})");
                manual_seed(options.Seed);
                // The memory step updates weights, so it gets its own copy of the network; timing uses a fresh one.
                using (var probe = ModelRegistry.Create(name, modelOptions))
                using (SeparateOps(block))
                    costs.Add((TrainingMemory.MeasureStep(probe, modelOptions, options.Batch).StepPeakBytes, ModelComplexity.Count(probe, modelOptions)));
                manual_seed(options.Seed);
                nets.Add(new Trainee(block, name, ModelRegistry.Create(name, modelOptions), options));
            }
            progress?.Invoke($"{layers} layers: timing {nets.Count} networks, {options.Rounds} interleaved rounds");
            var samples = InterleavedTimer.Time(nets.Select(n => (Action)n.Step).ToList(), options.WarmupSteps, options.Rounds, minSampleMs: 0, cancel);
            var rows = new List<TrainStepRow>();
            for (var i = 0; i < nets.Count; i++)
            {
                var ms = InterleavedTimer.Median(samples[i]);
                var (peak, count) = costs[i];
                rows.Add(new TrainStepRow(layers, nets[i].Block, nets[i].Model, ms, options.Batch * 1000.0 / ms, peak,
                    count.ActivationBytesPerImage * options.Batch, count.Params, count.Macs));
            }
            progress?.Invoke($"{layers} layers: " + string.Join("  ", rows.Select(r => $"{r.Block} {r.StepMs:F0} ms")));
            return rows;
        }
        finally
        {
            foreach (var n in nets) n.Dispose();
        }
    }

    private static IDisposable? SeparateOps(string block) => block == SeparateOpsC2sp ? PreActivationConv.UseSeparateOps() : null;

    /// <summary>A network with its optimizer and a fixed random batch, ready to take training steps.</summary>
    private sealed class Trainee : IDisposable
    {
        private readonly nn.Module<Tensor, Tensor> _model;
        private readonly optim.Optimizer _optimizer;
        private readonly Tensor _images, _labels;

        public Trainee(string block, string model, nn.Module<Tensor, Tensor> network, TrainStepBenchmarkOptions options)
        {
            (Block, Model, _model) = (block, model, network);
            _model.train();
            _optimizer = optim.SGD(_model.parameters(), 0.01, momentum: 0.9, nesterov: true, weight_decay: 1e-4);
            _images = TensorLayout.To(randn(options.Batch, 3, 32, 32), options.Layout);
            _labels = randint(0, 10, [options.Batch]);
        }

        public string Block { get; }
        public string Model { get; }

        public void Step()
        {
            using var scope = NewDisposeScope();
            using var separate = SeparateOps(Block);
            _optimizer.zero_grad();
            F.cross_entropy(_model.call(_images), _labels).backward();
            _optimizer.step();
        }

        public void Dispose()
        {
            _model.Dispose();
            _optimizer.Dispose();
            _images.Dispose();
            _labels.Dispose();
        }
    }
}
