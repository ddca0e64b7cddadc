using System.Diagnostics;
using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Distributed;

/// <summary>
/// Averages a model's gradients over the ranks of a job after each backward, Horovod's tensor fusion: gradients are
/// packed in order into buckets of about <c>bucketBytes</c> and each bucket goes to one allreduce, so that a ResNet's
/// 60 small tensors cost a few collective latencies instead of 60. Each rank's contribution is weighted (by its share
/// of the step's images), so unequal shards of a last batch still give the mean gradient of the whole batch. The
/// model's floating-point buffers — batch norm's running mean and variance, which each rank updates from its own
/// images — ride along and are averaged the same way, so every rank holds the same complete state at every step
/// (rank 0's checkpoint is the job's state, and a resumed job continues where an uninterrupted one would).
/// A bucket of one tensor is reduced in place in the tensor's own memory; others are copied through one fusion buffer.
/// </summary>
public sealed class GradientBuckets
{
    private readonly (string Name, Func<Tensor?> Get, long Elements)[][] _buckets;
    private readonly float[] _fusion;

    /// <summary>Plans the buckets for <paramref name="model"/>: its trainable parameters' gradients, then its float
    /// buffers, in registration order (the same on every rank). <paramref name="bucketBytes"/> 0 reduces each tensor alone.</summary>
    public GradientBuckets(nn.Module model, long bucketBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucketBytes);
        var entries = new List<(string, Func<Tensor?>, long)>();
        foreach (var (name, p) in model.named_parameters())
            if (p.requires_grad) entries.Add(("grad of " + name, () => p.grad, p.numel()));
        foreach (var (name, b) in model.named_buffers())
            if (b.is_floating_point()) entries.Add((name, () => b, b.numel()));
        var buckets = new List<(string, Func<Tensor?>, long)[]>();
        var current = new List<(string, Func<Tensor?>, long Elements)>();
        long bytes = 0;
        foreach (var entry in entries)
        {
            if (current.Count > 0 && bytes + entry.Item3 * sizeof(float) > bucketBytes)
            {
                buckets.Add([.. current]);
                (current, bytes) = ([], 0);
            }
            current.Add(entry);
            bytes += entry.Item3 * sizeof(float);
        }
        if (current.Count > 0) buckets.Add([.. current]);
        _buckets = [.. buckets];
        _fusion = new float[_buckets.Where(b => b.Length > 1).Select(b => b.Sum(e => e.Elements)).DefaultIfEmpty(0).Max()];
        Tensors = entries.Count;
    }

    /// <summary>Tensors reduced per step (gradients and buffers).</summary>
    public int Tensors { get; }

    /// <summary>Allreduce calls per step.</summary>
    public int Buckets => _buckets.Length;

    /// <summary>Time spent in <see cref="Average"/> (packing and communication), summed over calls.</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>Replaces every gradient and buffer with Σ over ranks of weight × its value there; with each rank's
    /// <paramref name="weight"/> its share of the step's images, that is their weighted mean. Collective.</summary>
    public void Average(ICommunicator communicator, double weight)
    {
        var start = Stopwatch.GetTimestamp();
        var w = (float)weight;
        using var _ = no_grad();
        foreach (var bucket in _buckets)
        {
            var tensors = bucket.Select(e => e.Get() ?? throw new InvalidOperationException(
                $"{e.Name} is missing on rank {communicator.Rank}: every rank must compute every gradient (a data-parallel model has no parameters that a step leaves unused).")).ToArray();
            if (tensors.Length == 1)
            {
                var values = Collectives.Floats(tensors[0]);
                Scale(values, values, w);
                communicator.AllreduceSum(values);
                continue;
            }
            var fusion = _fusion.AsSpan(0, (int)bucket.Sum(e => e.Elements));
            var at = 0;
            foreach (var t in tensors)
            {
                var values = Collectives.Floats(t);
                Scale(values, fusion.Slice(at, values.Length), w);
                at += values.Length;
            }
            communicator.AllreduceSum(fusion);
            at = 0;
            foreach (var t in tensors)
            {
                var values = Collectives.Floats(t);
                fusion.Slice(at, values.Length).CopyTo(values);
                at += values.Length;
            }
        }
        Elapsed += Stopwatch.GetElapsedTime(start);
    }

    private static void Scale(ReadOnlySpan<float> from, Span<float> to, float factor)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var f = new Vector<float>(factor);
            for (; i <= from.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(from[i..]) * f).CopyTo(to[i..]);
        }
        for (; i < from.Length; i++) to[i] = from[i] * factor;
    }
}
