using EvenConv.Data;
using EvenConv.Distributed;
using EvenConv.Ops;
using EvenConv.Ops.Kernels;
using EvenConv.Tests.Reference;
using EvenConv.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Distributed;

/// <summary>
/// The pieces of data-parallel training in one process, the ranks being threads (<see cref="ThreadJob"/>): sharded
/// batches are the whole batch cut in parts; the gradient buckets give each rank the weighted mean; synchronized batch
/// norm over unequal shards equals batch norm of the whole batch, value, running statistics and every gradient, also
/// inside the fused BN-ReLU-C2sp op; a failure on rank 0 reaches every rank.
/// </summary>
[Collection(TinyTensors.Name)]
public class DataParallelTests : IDisposable
{
    /// <summary>Tensors made on the rank threads live outside any dispose scope: free them now, not in a later test
    /// (the memory-measuring tests read the allocator's totals).</summary>
    public void Dispose()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    private static InMemoryImageDataset Images(int n)
    {
        var pixels = Enumerable.Range(0, n * 2 * 5 * 4).Select(i => (byte)(i * 37 % 251)).ToArray();
        return new InMemoryImageDataset("toy/train", pixels, Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 2, 5, 4, ["a", "b", "c"]);
    }

    [Theory]
    [InlineData(23, false, 4)]   // 6, 6, 6 and 5 images: the last batch is cut 2 + 3
    [InlineData(25, true, 4)]    // a last batch of 1 image cannot feed 2 ranks: left out
    [InlineData(25, false, 5)]   // …kept for evaluation: rank 0's part of it is empty
    public void The_shards_of_a_batch_are_the_batch_of_one_process_with_all_their_images(int images, bool drop, int batches)
    {
        var data = Images(images);
        var norm = new ChannelNormalization([100f, 90f], [50f, 60f]);
        var augmentation = new AugmentationOptions { PadCrop = 2, HorizontalFlip = true, Cutout = 2 };
        var whole = new BatchLoader(data, norm, new BatchLoaderOptions { BatchSize = 6, Shuffle = true, Seed = 9, Augmentation = augmentation });
        var shards = Enumerable.Range(0, 2).Select(r => new BatchLoader(data, norm, new BatchLoaderOptions
        {
            BatchSize = 3, Shuffle = true, Seed = 9, Augmentation = augmentation, Shard = r, Shards = 2, DropBatchSmallerThanShards = drop,
        })).ToArray();
        Assert.All(shards, s => Assert.Equal(batches, s.BatchesPerEpoch));
        var expected = whole.Epoch(2).Take(batches).ToArray();
        var parts = shards.Select(s => s.Epoch(2).ToDictionary(b => b.Index)).ToArray();
        foreach (var batch in expected)
        {
            var mine = parts.Where(p => p.ContainsKey(batch.Index)).Select(p => p[batch.Index]).ToArray();
            Assert.Equal(batch.Labels, mine.SelectMany(b => b.Labels));
            Assert.Equal(batch.Pixels, mine.SelectMany(b => b.Pixels));
            Assert.True(mine.Max(b => b.Count) - mine.Min(b => b.Count) <= 1 || mine.Length == 1, "equal parts");
        }
        Assert.Throws<ArgumentException>(() => new BatchLoader(data, norm, new BatchLoaderOptions { Shard = 2, Shards = 2 }));
    }

    [Theory]
    [InlineData(0L)]         // every tensor alone, reduced in its own memory
    [InlineData(200L)]       // a few tensors per bucket
    [InlineData(1L << 20)]   // one bucket
    public void Buckets_give_every_rank_the_weighted_mean_of_the_gradients_and_batch_norm_statistics(long bucketBytes)
    {
        manual_seed(2);
        var nets = new[] { new TinyNet(2, 3), new TinyNet(2, 3) };
        nets[1].load_state_dict(nets[0].state_dict());
        var inputs = new[] { randn(4, 2, 5, 5), randn(4, 2, 5, 5) * 2 + 1 };
        var targets = tensor(new long[] { 0, 1, 2, 1 });
        var weights = new[] { 0.25, 0.75 };
        foreach (var (net, x) in nets.Zip(inputs))
            nn.functional.cross_entropy(net.call(x), targets).backward();
        var expected = nets[0].named_parameters().Select(p => (p.name, weights[0] * p.parameter.grad! + weights[1] * nets[1].get_parameter(p.name)!.grad!))
            .Concat(nets[0].named_buffers().Where(b => b.buffer.is_floating_point()).Select(b => (b.name, weights[0] * b.buffer + weights[1] * nets[1].get_buffer(b.name)!)))
            .ToArray();

        var buckets = ThreadJob.Run(2, comm =>
        {
            var averager = new GradientBuckets(nets[comm.Rank], bucketBytes);
            averager.Average(comm, weights[comm.Rank]);
            return averager;
        });
        Assert.Equal(bucketBytes == 0 ? buckets[0].Tensors : bucketBytes > 1000 ? 1 : buckets[0].Buckets, buckets[0].Buckets);
        Assert.True(bucketBytes != 200 || buckets[0].Buckets is > 1 and < 8, $"{buckets[0].Buckets} buckets of 200 bytes");
        foreach (var net in nets)
            foreach (var (name, value) in expected)
            {
                var actual = net.named_parameters().Any(p => p.name == name) ? net.get_parameter(name)!.grad! : net.get_buffer(name)!;
                Assert.True(actual.allclose(value, rtol: 1e-6, atol: 1e-7), $"{name} of rank {Array.IndexOf(nets, net)}");
            }
    }

    [Fact]
    public void Synchronized_batch_norm_over_unequal_shards_is_batch_norm_of_the_whole_batch_with_every_gradient()
    {
        manual_seed(3);
        var x = randn(8, 5, 3, 4, dtype: float64) * 2 + 3;
        var gy = randn(8, 5, 3, 4, dtype: float64);
        var gamma = rand(5, dtype: float64) + 0.5;
        var beta = randn(5, dtype: float64);
        BatchNorm2dOf(gamma, beta, out var reference);
        var xr = x.clone().requires_grad_();
        var yr = reference.call(xr);
        (yr * gy).sum().backward();

        (int Start, int Count)[] shards = [(0, 3), (3, 5)];
        var ranks = ThreadJob.Run(2, comm =>
        {
            var (start, n) = shards[comm.Rank];
            var share = n / 8.0;
            BatchNorm2dOf(gamma, beta, out var norm);
            var xs = x.narrow(0, start, n).clone().requires_grad_();
            var y = ReplicaBatchNorm.Apply(xs, SyncBatchNorm.State(norm, v => comm.AllreduceSum(v)));
            // Rank r's loss L_r, with Σ share_r·L_r the whole batch's; share_r × its gradients is its part of the whole's.
            ((y * gy.narrow(0, start, n)).sum() / share).backward();
            return (Y: y.detach(), Dx: xs.grad! * share, Dgamma: norm.weight!.grad! * share, Dbeta: norm.bias!.grad! * share, Norm: norm);
        });
        AssertClose(yr, cat(ranks.Select(r => r.Y).ToArray(), 0), "output");
        AssertClose(xr.grad!, cat(ranks.Select(r => r.Dx).ToArray(), 0), "∂x");
        AssertClose(reference.weight!.grad!, ranks[0].Dgamma + ranks[1].Dgamma, "∂γ");
        AssertClose(reference.bias!.grad!, ranks[0].Dbeta + ranks[1].Dbeta, "∂β");
        foreach (var norm in ranks.Select(r => r.Norm))
        {
            AssertClose(reference.running_mean!, norm.running_mean!, "running mean");
            AssertClose(reference.running_var!, norm.running_var!, "running variance");
        }
    }

    [SkippableFact]
    public void The_fused_batch_norm_relu_c2sp_op_synchronizes_the_same_way()
    {
        Skip.IfNot(SymmetricConv2x2.HardwareSupported, "the fused kernels need AVX-512 or AVX2 with FMA");
        manual_seed(4);
        var x = TensorLayout.To(randn(5, 16, 6, 5) * 1.5 + 2, MemoryLayout.ChannelsLast);
        var w = TensorLayout.To(randn(16, 16, 2, 2) * 0.2, MemoryLayout.ChannelsLast);
        var gamma = rand(16) + 0.5;
        var beta = randn(16) * 0.3;
        var gy = TensorLayout.To(randn(5, 16, 6, 5), MemoryLayout.ChannelsLast);
        var expected = Fused(x, w, gamma, beta, gy, 1.0, null);

        (int Start, int Count)[] shards = [(0, 2), (2, 3)];
        var ranks = ThreadJob.Run(2, comm =>
        {
            var (start, n) = shards[comm.Rank];
            return Fused(TensorLayout.To(x.narrow(0, start, n), MemoryLayout.ChannelsLast), w, gamma, beta,
                TensorLayout.To(gy.narrow(0, start, n), MemoryLayout.ChannelsLast), n / 5.0, comm);
        });
        AssertClose(expected.Y, cat(ranks.Select(r => r.Y).ToArray(), 0), "output", 1e-4);
        AssertClose(expected.Dx, cat(ranks.Select(r => r.Dx).ToArray(), 0), "∂x", 1e-4);
        AssertClose(expected.Dw, ranks[0].Dw + ranks[1].Dw, "∂w", 1e-4);
        AssertClose(expected.Dgamma, ranks[0].Dgamma + ranks[1].Dgamma, "∂γ", 1e-4);
        AssertClose(expected.Dbeta, ranks[0].Dbeta + ranks[1].Dbeta, "∂β", 1e-4);
        AssertClose(expected.RunningVar, ranks[1].RunningVar, "running variance", 1e-5);
    }

    [Fact]
    public void A_failure_on_rank_0_reaches_every_rank_with_its_message()
    {
        var errors = ThreadJob.Run(3, comm =>
        {
            try
            {
                comm.BroadcastFromRoot(() => throw new InvalidDataException("runs/x/last.ckpt: checkpoint is truncated"));
                return null;
            }
            catch (Exception e) { return e; }
        });
        Assert.IsType<InvalidDataException>(errors[0]);
        Assert.All(errors.Skip(1), e => Assert.Equal("rank 0: runs/x/last.ckpt: checkpoint is truncated", Assert.IsType<EvenConvException>(e).Message));
        var bytes = ThreadJob.Run(2, comm => comm.BroadcastFromRoot(() => "hello"u8.ToArray()));
        Assert.All(bytes, b => Assert.Equal("hello"u8.ToArray(), b));
    }

    private static void BatchNorm2dOf(Tensor gamma, Tensor beta, out TorchSharp.Modules.BatchNorm2d norm)
    {
        norm = nn.BatchNorm2d(gamma.shape[0], dtype: gamma.dtype);
        using var _ = no_grad();
        norm.weight!.copy_(gamma);
        norm.bias!.copy_(beta);
    }

    private sealed record FusedResult(Tensor Y, Tensor Dx, Tensor Dw, Tensor Dgamma, Tensor Dbeta, Tensor RunningVar);

    /// <summary>The fused op on (a shard of) the batch; gradients scaled by the shard's share, as the gradient average does.</summary>
    private static FusedResult Fused(Tensor x, Tensor w, Tensor gamma, Tensor beta, Tensor gy, double share, ICommunicator? comm)
    {
        BatchNorm2dOf(gamma, beta, out var norm);
        var xs = x.detach().requires_grad_();
        var ws = w.detach().clone().requires_grad_();
        var state = SyncBatchNorm.State(norm, comm is null ? null : v => comm.AllreduceSum(v));
        var y = BatchNormActConv.Apply(xs, state, float.PositiveInfinity, ws);
        ((y * gy).sum() / share).backward();
        return new FusedResult(y.detach(), xs.grad! * share, ws.grad! * share, norm.weight!.grad! * share, norm.bias!.grad! * share, norm.running_var!.clone());
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what, double tolerance = 1e-9)
    {
        var scale = expected.abs().max().to_type(ScalarType.Float64).item<double>() + 1e-12;
        var error = (expected.to_type(ScalarType.Float64) - actual.to_type(ScalarType.Float64)).abs().max().item<double>() / scale;
        Assert.True(error <= tolerance, $"{what}: relative error {error:G3} > {tolerance:G3}");
    }
}

/// <summary>The data-parallel benchmark's rows and ratios, its ranks being threads.</summary>
[Collection(TinyTensors.Name)]
public class DataParallelBenchmarkTests : IDisposable
{
    public void Dispose()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [Fact]
    public void Each_bucket_size_and_the_steps_alone_get_a_row_with_their_allreduce_count()
    {
        var options = new EvenConv.Benchmarks.DataParallelBenchmarkOptions
        {
            Model = "resnet20", Batch = 2, BucketMegabytes = [0, 25], Rounds = 1, StepsPerSample = 1, WarmupSteps = 0,
        };
        var previous = get_num_threads();
        try
        {
            var rows = ThreadJob.Run(2, comm => EvenConv.Benchmarks.DataParallelBenchmark.Run(comm, options))[0];
            Assert.Equal([0.0, 25.0, null], rows.Select(r => r.BucketMegabytes));
            Assert.True(rows[0].Buckets > 20 && rows[1].Buckets == 1 && rows[2].Buckets == 0, string.Join(", ", rows.Select(r => r.Buckets)));
            Assert.All(rows, r => Assert.Equal(2 * 2 * 1000 / r.StepMs, r.ImagesPerSecond, 6));
            var one = rows.Select(r => r with { Ranks = 1, ImagesPerSecond = r.ImagesPerSecond / 1.6 }).ToArray();
            Assert.Equal(0.8, EvenConv.Benchmarks.DataParallelBenchmark.Efficiency(rows[1], [.. rows, .. one])!.Value, 9);
            Assert.Equal(rows[1].StepMs / rows[2].StepMs, EvenConv.Benchmarks.DataParallelBenchmark.CommunicationCost(rows[1], rows)!.Value, 9);
        }
        finally { set_num_threads(previous); }
    }
}
