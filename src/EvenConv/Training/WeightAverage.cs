using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Training;

/// <summary>
/// An exponential moving average of a module's weights, kept in a second module of the same architecture — the
/// "EMA generator" of GAN practice (Karras et al., 2018; Brock et al., 2019; Yazıcı et al., 2019), whose samples are
/// far cleaner than the raw generator's, which jitters from step to step around the equilibrium.
/// After update t (1-based) every parameter is a ← β_t·a + (1 − β_t)·w with β_t = min(β, (1 + t)/(10 + t)): the
/// warm-up of TensorFlow's <c>ExponentialMovingAverage(num_updates)</c>, so a short run is not dominated by its
/// random initial weights. Buffers (batch-norm running statistics, spectral-norm vectors) are copied, not averaged.
/// </summary>
public sealed class WeightAverage
{
    private readonly (Tensor Average, Tensor Source)[] _parameters;
    private readonly (Tensor Average, Tensor Source)[] _buffers;

    /// <param name="average">The module that holds the average; its weights are set to <paramref name="source"/>'s now.</param>
    /// <param name="source">The module being trained.</param>
    /// <param name="decay">β in [0, 1).</param>
    public WeightAverage(nn.Module average, nn.Module source, double decay)
    {
        if (decay is < 0 or >= 1 || double.IsNaN(decay))
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "The average's decay must lie in [0, 1) (0.999 is usual).");
        Decay = decay;
        _parameters = Pair(average.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), source.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        _buffers = Pair(average.named_buffers(), source.named_buffers());
        foreach (var p in average.parameters()) p.requires_grad = false;
        using var _ = no_grad();
        foreach (var (a, s) in _parameters.Concat(_buffers)) a.copy_(s);
    }

    /// <summary>β.</summary>
    public double Decay { get; }

    /// <summary>Updates applied so far (restored from checkpoints by the owner).</summary>
    public long Updates { get; set; }

    /// <summary>The decay used by update <paramref name="update"/> (1-based): min(β, (1 + t)/(10 + t)).</summary>
    public static double DecayAt(double decay, long update) => Math.Min(decay, (1.0 + update) / (10.0 + update));

    /// <summary>Moves the average one step towards the source's current weights.</summary>
    public void Update()
    {
        Updates++;
        var beta = DecayAt(Decay, Updates);
        using var _ = no_grad();
        foreach (var (a, s) in _parameters) a.lerp_(s, 1 - beta);
        foreach (var (a, s) in _buffers) a.copy_(s);
    }

    private static (Tensor, Tensor)[] Pair(IEnumerable<(string name, Tensor tensor)> average, IEnumerable<(string name, Tensor tensor)> source)
    {
        var sources = source.ToDictionary(s => s.name, s => s.tensor);
        var pairs = average.Select(a => sources.TryGetValue(a.name, out var s) && s.shape.SequenceEqual(a.tensor.shape)
            ? (a.tensor, s)
            : throw new ArgumentException($"The average and the source differ at '{a.name}': build both from the same architecture.")).ToArray();
        if (pairs.Length != sources.Count) throw new ArgumentException("The source has tensors the average lacks: build both from the same architecture.");
        return pairs;
    }
}
