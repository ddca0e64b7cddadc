using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using EvenConv.Ops;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Benchmarks.Micro;

/// <summary>
/// The standalone symmetric padding (one pass, one allocation) against the authors' four pads and a concatenation,
/// forward and forward+backward, on the first CIFAR stage (N128, C16, 32×32) in both memory layouts.
/// </summary>
[InProcess]
[MemoryDiagnoser(displayGenColumns: false)]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class SymmetricPadBenchmarks
{
    private Tensor input = null!, upstream = null!;
    private long[] groupSizes = null!;
    private long[][] pads = null!;

    [Params(MemoryLayout.ChannelsLast, MemoryLayout.Nchw)]
    public MemoryLayout Layout { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(1);
        input = TensorLayout.To(randn(128, 16, 32, 32), Layout);
        upstream = TensorLayout.To(randn(128, 16, 33, 33), Layout);
        groupSizes = SymmetricPadding.GroupSizes(16);
        pads = SymmetricPadding.GroupPadding(2).Select(p => p.ToTorchPadArgument()).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        input.Dispose();
        upstream.Dispose();
    }

    [Benchmark(Baseline = true, Description = "SymmetricPad.Apply")]
    public void Fused()
    {
        using var scope = NewDisposeScope();
        SymmetricPad.Apply(input, 2);
    }

    [Benchmark(Description = "4× pad + cat")]
    public void Naive()
    {
        using var scope = NewDisposeScope();
        Naive(input);
    }

    [Benchmark(Description = "SymmetricPad.Apply, fwd+bwd")]
    public void FusedTraining()
    {
        using var scope = NewDisposeScope();
        var x = input.detach().requires_grad_();
        autograd.grad([SymmetricPad.Apply(x, 2)], [x], [upstream]);
    }

    [Benchmark(Description = "4× pad + cat, fwd+bwd")]
    public void NaiveTraining()
    {
        using var scope = NewDisposeScope();
        var x = input.detach().requires_grad_();
        autograd.grad([Naive(x)], [x], [upstream]);
    }

    private Tensor Naive(Tensor x) =>
        cat(x.split(groupSizes, 1).Select((g, i) => F.pad(g, pads[i])).ToArray(), 1);
}
