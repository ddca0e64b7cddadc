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
        // Not nn.init.trunc_normal_: TorchSharp 0.107's native version multiplies by the mean and adds the std, so it
        // fills every element with std. Inverse CDF as in PyTorch: u uniform on (erf(−√2), erf(√2)) = (2Φ(−2)−1, 2Φ(2)−1),
        // then √2·erfinv(u) is a unit normal truncated to [−2, 2].
        const double erfSqrt2 = 0.95449973610364158;
        using var _ = no_grad();
        weight.uniform_(-erfSqrt2, erfSqrt2).erfinv_().mul_(Math.Sqrt(2) * std).clamp_(-2 * std, 2 * std);
    }
}
