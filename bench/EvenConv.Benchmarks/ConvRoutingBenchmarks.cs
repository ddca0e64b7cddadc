using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using EvenConv.Ops.Routing;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Benchmarks.Micro;

/// <summary>
/// What routing costs a convolution: <see cref="ConvRouting.Conv2d"/> against libtorch's conv2d on the same tensors,
/// forward, on shapes small enough that a microsecond shows (a CIFAR stage-3 3×3 and a 1×1 at N1). On a healthy host
/// (or with the route forced) both run the same oneDNN kernel, so the difference is the routing decision alone.
/// </summary>
[InProcess]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class ConvRoutingBenchmarks
{
    private Tensor input = null!, weight = null!;

    [Params(1, 3)]
    public int Kernel { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(1);
        input = randn(1, 64, 8, 8);
        weight = randn(64, 64, Kernel, Kernel);
        Console.WriteLine($"// route: {string.Join("; ", ConvRouting.Describe())}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        input.Dispose();
        weight.Dispose();
    }

    [Benchmark(Baseline = true, Description = "libtorch conv2d")]
    public void LibTorch() => F.conv2d(input, weight, null, padding: [Kernel / 2, Kernel / 2]).Dispose();

    [Benchmark(Description = "ConvRouting.Conv2d")]
    public void Routed() => ConvRouting.Conv2d(input, weight, null, padding: Kernel / 2).Dispose();
}
