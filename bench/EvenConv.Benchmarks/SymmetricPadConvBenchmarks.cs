using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using EvenConv.Ops;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Benchmarks.Micro;

/// <summary>
/// C2sp forward+backward: the fused op (no padded copy kept; padding remade in backward) against padding then an
/// ordinary conv2d (the copy lives until backward), with C3 and 'same'-padded C2 for scale. Channels-last.
/// </summary>
[InProcess]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class SymmetricPadConvBenchmarks
{
    private Tensor input = null!, upstream = null!, w2 = null!, w3 = null!;

    [Params(16, 64)]
    public int Channels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(1);
        var size = Channels == 16 ? 32 : 8;
        input = TensorLayout.To(randn(128, Channels, size, size), MemoryLayout.ChannelsLast);
        upstream = TensorLayout.To(randn(128, Channels, size, size), MemoryLayout.ChannelsLast);
        w2 = TensorLayout.To(randn(Channels, Channels, 2, 2) * 0.1, MemoryLayout.ChannelsLast);
        w3 = TensorLayout.To(randn(Channels, Channels, 3, 3) * 0.1, MemoryLayout.ChannelsLast);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { input, upstream, w2, w3 }) t.Dispose();
    }

    [Benchmark(Baseline = true, Description = "C3")]
    public void C3() => Train(w3, (x, w) => F.conv2d(x, w, padding: [1, 1]));

    [Benchmark(Description = "C2 (same)")]
    public void C2() => Train(w2, (x, w) => F.conv2d(F.pad(x, [0, 1, 0, 1]), w));

    [Benchmark(Description = "C2sp fused")]
    public void C2spFused() => Train(w2, (x, w) => SymmetricPadConv.Apply(x, w));

    [Benchmark(Description = "C2sp pad then conv2d")]
    public void C2spPadThenConv() => Train(w2, (x, w) => F.conv2d(SymmetricPad.Apply(x, 2), w));

    private void Train(Tensor weight, Func<Tensor, Tensor, Tensor> layer)
    {
        using var scope = NewDisposeScope();
        var x = input.detach().requires_grad_();
        var w = weight.detach().requires_grad_();
        autograd.grad([layer(x, w)], [x, w], [upstream]);
    }
}
