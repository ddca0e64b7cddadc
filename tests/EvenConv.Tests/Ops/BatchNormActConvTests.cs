using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Ops;
using EvenConv.Ops.Kernels;
using EvenConv.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Tests.Ops;

/// <summary>
/// Batch norm → ReLU/ReLU6 → C2sp as one op (float32, channels_last): output, every gradient and the running
/// statistics against libtorch's own batch norm, clamp and the plain-route convolution in float64; what it keeps for
/// backward; and whole networks trained with and without it. At the vector width this CPU has; where it has AVX-512,
/// ./test runs them once more on the AVX2 code.
/// </summary>
[Collection(TinyTensors.Name)]
public class BatchNormActConvTests
{
    public static TheoryData<int, int, int, int, int, int, bool, float> Shapes => new()
    {
        // in, out, stride, batch, height, width, bias, upper
        { 16, 16, 1, 2, 7, 9, false, float.PositiveInfinity },
        { 32, 64, 1, 3, 5, 4, true, 6f },
        { 48, 16, 1, 1, 20, 3, false, float.PositiveInfinity },   // more rows than one weight-gradient band
        { 64, 32, 1, 2, 2, 17, false, 6f },                       // a row wider than one register tile
        { 16, 32, 2, 2, 8, 6, false, float.PositiveInfinity },
        { 32, 16, 2, 3, 7, 5, true, 6f },
    };

    [SkippableTheory, MemberData(nameof(Shapes))]
    public void Value_gradients_and_running_statistics_match_libtorch_in_float64(int cin, int cout, int stride, int batch, int height,
        int width, bool bias, float upper)
    {
        SkipWithoutKernels();
        foreach (var threads in new[] { 1, 3 })
        {
            manual_seed(cin + cout + stride);
            // A mean far from zero against the spread: the batch statistics must not cancel digits.
            var x = (randn(batch, cin, height, width, dtype: float64) * 1.5 + 4).to(float64);
            var gamma = rand(cin, dtype: float64) + 0.5;
            var beta = randn(cin, dtype: float64) * 0.5;
            var w = randn(cout, cin, 2, 2, dtype: float64) * 0.2;
            var b = bias ? randn(cout, dtype: float64) : null;
            var gy = randn(batch, cout, Out(height, stride), Out(width, stride), dtype: float64);

            var expected = Reference(x, gamma, beta, w, b, gy, upper, stride);
            var previous = get_num_threads();
            set_num_threads(threads);
            try
            {
                var actual = Fused(x, gamma, beta, w, b, gy, upper, stride);
                foreach (var name in expected.Keys)
                    AssertRelative(expected[name], actual[name], 2e-4, $"{name}, {cin}→{cout} stride {stride}, {threads} threads");
            }
            finally { set_num_threads(previous); }
        }
    }

    [SkippableFact]
    public void A_cumulative_average_norm_updates_its_running_statistics_as_BatchNorm2d_does()
    {
        SkipWithoutKernels();
        manual_seed(5);
        using var norm = nn.BatchNorm2d(16);
        using var reference = nn.BatchNorm2d(16);
        norm.momentum = reference.momentum = null;
        var w = TensorLayout.To(randn(16, 16, 2, 2) * 0.2, MemoryLayout.ChannelsLast);
        for (var step = 0; step < 3; step++)
        {
            var x = TensorLayout.To(randn(2, 16, 4, 4) * (step + 1) + step, MemoryLayout.ChannelsLast);
            using (no_grad())
            {
                BatchNormActConv.Apply(x, new TrainingNorm(norm.weight!, norm.bias!, norm.running_mean, norm.running_var,
                    norm.num_batches_tracked, norm.momentum, norm.eps), float.PositiveInfinity, w);
                reference.call(x);
            }
        }
        Assert.Equal(3, norm.num_batches_tracked!.item<long>());
        Assert.True(norm.running_mean!.allclose(reference.running_mean!, rtol: 1e-5, atol: 1e-6), "running mean");
        Assert.True(norm.running_var!.allclose(reference.running_var!, rtol: 1e-5, atol: 1e-6), "running variance");
    }

    [SkippableFact]
    public void A_norm_without_running_statistics_normalises_by_the_batch_and_tracks_nothing()
    {
        SkipWithoutKernels();
        manual_seed(6);
        using var norm = nn.BatchNorm2d(16, track_running_stats: false);
        Assert.Null(norm.running_mean);
        var x = TensorLayout.To(randn(2, 16, 5, 5) * 3 + 1, MemoryLayout.ChannelsLast);
        var w = TensorLayout.To(randn(16, 16, 2, 2) * 0.2, MemoryLayout.ChannelsLast);
        using var _ = no_grad();
        var fused = BatchNormActConv.Apply(x, new TrainingNorm(norm.weight!, norm.bias!, null, null, null, norm.momentum, norm.eps),
            float.PositiveInfinity, w);
        var expected = SymmetricPadConv.Apply(F.relu(norm.call(x)), w);
        Assert.True(fused.allclose(expected, rtol: 1e-4, atol: 1e-5), "the fused op should normalise by the batch statistics");
    }

    [SkippableFact]
    public void The_forward_keeps_no_activation_for_backward()
    {
        SkipWithoutKernels();
        if (EvenConv.Runtime.HeapBytesInUse() is null) return;   // no allocator statistics on this platform
        const int layers = 6;
        manual_seed(4);
        var x = TensorLayout.To(randn(16, 16, 32, 32), MemoryLayout.ChannelsLast).requires_grad_();
        var norms = Enumerable.Range(0, layers).Select(_ => nn.BatchNorm2d(16)).ToArray();
        var weights = Enumerable.Range(0, layers).Select(_ => TensorLayout.To(randn(16, 16, 2, 2) * 0.2, MemoryLayout.ChannelsLast).requires_grad_()).ToArray();
        long mapBytes = x.numel() * 4;
        long Held(bool fused)
        {
            using var scope = NewDisposeScope();
            var before = EvenConv.Runtime.HeapBytesInUse()!.Value;
            Tensor loss;
            using (NewDisposeScope())
            {
                var h = x;
                for (var i = 0; i < layers; i++)
                    h = fused
                        ? BatchNormActConv.Apply(h, new TrainingNorm(norms[i].weight!, norms[i].bias!, norms[i].running_mean, norms[i].running_var,
                            norms[i].num_batches_tracked, norms[i].momentum, norms[i].eps), float.PositiveInfinity, weights[i])
                        : SymmetricPadConv.Apply(F.relu(norms[i].call(h), inplace: true), weights[i]);
                loss = h.mean().MoveToOuterDisposeScope();
            }
            return EvenConv.Runtime.HeapBytesInUse()!.Value - before;
        }
        Held(true);   // warm-up: lazily built kernels and caches
        Held(false);
        double fusedMaps = Held(true) / (double)mapBytes, separateMaps = Held(false) / (double)mapBytes;
        // Between forward and backward each layer keeps its output (the next layer's input); the separate ops also keep
        // the activation the convolution reads.
        Assert.True(fusedMaps < layers + 1, $"the fused layers keep {fusedMaps:F1} feature maps for {layers} layers");
        Assert.True(separateMaps > 2 * layers - 1, $"the separate ops were expected to keep two maps per layer, kept {separateMaps:F1}");
    }

    [SkippableFact]
    public void Declines_what_the_fused_kernels_do_not_take()
    {
        SkipWithoutKernels();
        var w = TensorLayout.To(randn(16, 16, 2, 2), MemoryLayout.ChannelsLast);
        var x = TensorLayout.To(randn(2, 16, 5, 5), MemoryLayout.ChannelsLast);
        Assert.True(BatchNormActConv.Supports(x, w, 1));
        Assert.False(BatchNormActConv.Supports(x.contiguous(), w, 1), "NCHW input");
        Assert.False(BatchNormActConv.Supports(x, w, 3), "stride 3");
        Assert.False(BatchNormActConv.Supports(x.to_type(ScalarType.Float64), w.to_type(ScalarType.Float64), 1), "float64");
        Assert.False(BatchNormActConv.Supports(TensorLayout.To(randn(2, 32, 5, 5), MemoryLayout.ChannelsLast), w, 1), "channels differ from the weight's");
        Assert.False(BatchNormActConv.Supports(TensorLayout.To(randn(1, 16, 1, 1), MemoryLayout.ChannelsLast), w, 1), "one value per channel");
        var norm = nn.BatchNorm2d(16);
        var e = Assert.Throws<ArgumentException>(() => BatchNormActConv.Apply(x, new TrainingNorm(norm.weight!, norm.bias!, null, null, null, 0.1, 1e-5),
            float.PositiveInfinity, w, stride: 3));
        Assert.Contains("Supports", e.Message);
    }

    /// <summary>ResNet-20 C2sp fuses every pre-activation of its basic blocks (16, 32 and 64 channels; strides 1 and 2).</summary>
    [SkippableFact]
    public void A_network_trains_the_same_with_and_without_the_fused_op()
    {
        SkipWithoutKernels();
        const string model = "resnet20";
        var options = ModelOptions.Cifar(ConvKind.C2sp);
        manual_seed(21);
        var x = TensorLayout.To(randn(8, 3, 16, 16), MemoryLayout.ChannelsLast);
        var y = randint(0, 10, [8]);
        var (fusedLoss, fusedState) = TrainingStep(model, options, x, y, separate: false);
        var (separateLoss, separateState) = TrainingStep(model, options, x, y, separate: true);
        Assert.True(Math.Abs(fusedLoss - separateLoss) <= 1e-4 * Math.Abs(separateLoss), $"loss {fusedLoss} against {separateLoss}");
        foreach (var (name, expected) in separateState)
        {
            var actual = fusedState[name];
            var error = (actual - expected).norm().item<float>() / Math.Max(1e-6f, expected.norm().item<float>());
            Assert.True(error < 1e-3, $"{model}: {name} differs by {error:E2} (relative norm)");
        }
    }

    /// <summary>One training step of a fresh network: the loss, every parameter's gradient and every buffer after it.</summary>
    private static (double Loss, Dictionary<string, Tensor> State) TrainingStep(string model, ModelOptions options, Tensor x, Tensor y, bool separate)
    {
        manual_seed(3);
        using var net = ModelRegistry.Create(model, options);
        net.train();
        using var mode = separate ? PreActivationConv.UseSeparateOps() : null;
        var loss = F.cross_entropy(net.call(x), y);
        loss.backward();
        var state = net.named_parameters().ToDictionary(p => "grad " + p.name, p => p.parameter.grad!.detach().clone());
        foreach (var (name, buffer) in net.named_buffers())
            if (buffer.is_floating_point()) state["buffer " + name] = buffer.detach().clone();
        return (loss.item<float>(), state);
    }

    private static int Out(int size, int stride) => (size + 1 - 2) / stride + 1;

    /// <summary>libtorch's batch norm (training), clamp and the plain-route C2sp, all in float64, differentiated by autograd.</summary>
    private static Dictionary<string, Tensor> Reference(Tensor x, Tensor gamma, Tensor beta, Tensor w, Tensor? b, Tensor gy, float upper, int stride)
    {
        Tensor xi = x.detach().requires_grad_(), gi = gamma.detach().requires_grad_(), bi = beta.detach().requires_grad_(),
            wi = w.detach().requires_grad_();
        var biasI = b?.detach().requires_grad_();
        var runningMean = zeros(x.shape[1], dtype: float64);
        var runningVar = ones(x.shape[1], dtype: float64);
        var normed = F.batch_norm(xi, runningMean, runningVar, gi, bi, training: true, momentum: 0.1, eps: 1e-5);
        var activated = float.IsPositiveInfinity(upper) ? F.relu(normed) : F.relu6(normed);
        var output = SymmetricPadConv.Apply(activated, wi, biasI, stride);
        Tensor[] inputs = biasI is null ? [xi, gi, bi, wi] : [xi, gi, bi, wi, biasI];
        var grads = autograd.grad([output], inputs, [gy]);
        var result = new Dictionary<string, Tensor>
        {
            ["output"] = output.detach(), ["input gradient"] = grads[0], ["gamma gradient"] = grads[1], ["beta gradient"] = grads[2],
            ["weight gradient"] = grads[3], ["running mean"] = runningMean, ["running variance"] = runningVar,
        };
        if (biasI is not null) result["bias gradient"] = grads[4];
        return result;
    }

    /// <summary>The fused op in float32 channels_last on the same values.</summary>
    private static Dictionary<string, Tensor> Fused(Tensor x, Tensor gamma, Tensor beta, Tensor w, Tensor? b, Tensor gy, float upper, int stride)
    {
        var xi = TensorLayout.To(x.to_type(ScalarType.Float32), MemoryLayout.ChannelsLast).requires_grad_();
        var wi = TensorLayout.To(w.to_type(ScalarType.Float32), MemoryLayout.ChannelsLast).requires_grad_();
        Tensor gi = gamma.to_type(ScalarType.Float32).requires_grad_(), bi = beta.to_type(ScalarType.Float32).requires_grad_();
        var biasI = b?.to_type(ScalarType.Float32).requires_grad_();
        var runningMean = zeros(x.shape[1]);
        var runningVar = ones(x.shape[1]);
        var batches = zeros(1, dtype: int64);
        Assert.True(BatchNormActConv.Supports(xi, wi, stride), "the fused op should take this case");
        var output = BatchNormActConv.Apply(xi, new TrainingNorm(gi, bi, runningMean, runningVar, batches, 0.1, 1e-5), upper, wi, biasI, stride);
        Tensor[] inputs = biasI is null ? [xi, gi, bi, wi] : [xi, gi, bi, wi, biasI];
        var grads = autograd.grad([output], inputs, [gy.to_type(ScalarType.Float32)]);
        Assert.Equal(1, batches.item<long>());
        var result = new Dictionary<string, Tensor>
        {
            ["output"] = output.detach(), ["input gradient"] = grads[0], ["gamma gradient"] = grads[1], ["beta gradient"] = grads[2],
            ["weight gradient"] = grads[3], ["running mean"] = runningMean, ["running variance"] = runningVar,
        };
        if (biasI is not null) result["bias gradient"] = grads[4];
        return result;
    }

    /// <summary>|expected − actual| ≤ tolerance · max(1, max |expected|) everywhere: gradients that are sums of many terms
    /// are compared at the scale of the largest.</summary>
    private static void AssertRelative(Tensor expected, Tensor actual, double tolerance, string context)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.to_type(ScalarType.Float64);
        var error = (actual.to_type(ScalarType.Float64) - e).abs().max().item<double>();
        var scale = Math.Max(1, e.abs().max().item<double>());
        Assert.True(error <= tolerance * scale, $"{context}: largest error {error:E2} at scale {scale:G3} (tolerance {tolerance:E0})");
    }

    private static void SkipWithoutKernels() =>
        Skip.IfNot(SymmetricConv2x2.HardwareSupported, "the fused kernels need AVX-512 or AVX2 with FMA; elsewhere the three ops run separately");
}
