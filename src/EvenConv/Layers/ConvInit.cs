using static TorchSharp.torch;

namespace EvenConv.Layers;

/// <summary>Weight initialisers for convolutions. A custom one is any <c>Action&lt;Tensor&gt;</c> that fills the weight in place.</summary>
public static class ConvInit
{
    /// <summary>
    /// He-normal, fan-in, truncated at two standard deviations — the authors' choice
    /// (TensorFlow <c>variance_scaling_initializer(2.0, 'FAN_IN', uniform=False)</c>): the standard deviation before
    /// truncation is √(2/fan_in)/0.8796, so that the truncated distribution has variance 2/fan_in.
    /// </summary>
    public static void HeNormalFanIn(Tensor weight) => TruncatedHe(weight, FanIn(weight));

    /// <summary>He-normal on fan-out (the authors use it for depthwise convolutions).</summary>
    public static void HeNormalFanOut(Tensor weight) => TruncatedHe(weight, weight.shape[0] * ReceptiveField(weight));

    /// <summary>PyTorch's own default for Conv2d: Kaiming-uniform with a = √5.</summary>
    public static void PyTorchDefault(Tensor weight)
    {
        using var _ = no_grad();
        nn.init.kaiming_uniform_(weight, Math.Sqrt(5));
    }

    /// <summary>fan_in of a conv weight (C_out, C_in/groups, kh, kw).</summary>
    public static long FanIn(Tensor weight) => weight.shape[1] * ReceptiveField(weight);

    private static long ReceptiveField(Tensor weight) => weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);

    private static void TruncatedHe(Tensor weight, long fan)
    {
        // 0.87962566 is the standard deviation of a unit normal truncated to [-2, 2].
        var std = Math.Sqrt(2.0 / fan) / 0.87962566103423978;
        TruncatedNormal(weight, std, 2);
    }

    /// <summary>
    /// Fills <paramref name="weight"/> with N(0, std²) truncated to ±<paramref name="limit"/>·std, by inverse-CDF
    /// sampling as PyTorch's <c>trunc_normal_</c> does. TorchSharp 0.107's own <c>nn.init.trunc_normal_</c> fills
    /// the whole tensor with the constant <c>std</c> (measured), which would make every filter of a layer identical.
    /// </summary>
    internal static void TruncatedNormal(Tensor weight, double std, double limit)
    {
        using var _ = no_grad();
        using var bound = tensor(limit / Math.Sqrt(2), dtype: float64);
        using var erfBound = special.erf(bound);
        var p = erfBound.item<double>();   // 2Φ(limit) − 1
        weight.uniform_(-p, p).erfinv_().mul_(std * Math.Sqrt(2)).clamp_(-limit * std, limit * std);
    }
}
