using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Layers;

/// <summary>
/// Spectral normalisation (Miyato et al., ICLR 2018) of any layer that is linear in its weight W (a convolution of
/// any <see cref="ConvKind"/>, a fully connected layer): the output is that of the layer with W / σ(W), σ the largest
/// singular value of W reshaped to (C_out, rest), estimated by power iteration.
/// <para>
/// Because the layer is linear in W, <c>layer(x; W/σ) = (layer(x; W) − b)/σ + b</c>, so the wrapped layer runs
/// unchanged (its padding scheme, layout and speed included) and the gradient through σ is exact. The left singular
/// vector estimate <c>weight_u</c> is a persistent buffer: it is saved with the module, so a resumed run continues
/// with exactly the same σ. One power iteration per training forward, as in the paper; none in eval mode.
/// </para>
/// </summary>
public sealed class SpectralNorm : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> module;
    private readonly Tensor weight_u;
    // Accessors, not fields of tensor type: the wrapped layer owns and registers its weight and bias.
    private readonly Func<Tensor> _weight;
    private readonly Func<Tensor?> _bias;
    private readonly int _powerIterations;
    private const double Eps = 1e-12;

    private SpectralNorm(nn.Module<Tensor, Tensor> layer, Func<Tensor> weight, Func<Tensor?> bias, int powerIterations)
        : base($"SpectralNorm({layer.GetName()})")
    {
        if (powerIterations < 1) throw new ArgumentOutOfRangeException(nameof(powerIterations), powerIterations, "At least one power iteration per step is needed.");
        module = layer;
        _weight = weight;
        _bias = bias;
        _powerIterations = powerIterations;
        var rows = weight().shape[0];
        weight_u = F.normalize(randn(rows, dtype: weight().dtype), p: 2, dim: 0, eps: Eps);
        RegisterComponents();
    }

    /// <summary>Wraps a convolution of any kind.</summary>
    public static SpectralNorm Wrap(ConvLayer conv, int powerIterations = 1) =>
        new(conv, () => conv.Weight, () => conv.Bias, powerIterations);

    /// <summary>Wraps a fully connected layer.</summary>
    public static SpectralNorm Wrap(Linear linear, int powerIterations = 1) =>
        new(linear, () => linear.weight!, () => linear.bias, powerIterations);

    /// <summary>The wrapped layer.</summary>
    public nn.Module<Tensor, Tensor> Inner => module;

    /// <summary>The current estimate of σ(W) (no power-iteration update, no gradient).</summary>
    public double Sigma()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return Estimate(update: false).to(float64).item<double>();
    }

    public override Tensor forward(Tensor input)
    {
        var sigma = Estimate(update: training);
        var y = module.call(input);
        var b = _bias();
        if (b is null) return y / sigma;
        var shape = Enumerable.Repeat(1L, (int)y.dim()).ToArray();
        shape[1] = -1;
        var bv = b.view(shape);
        return (y - bv) / sigma + bv;
    }

    /// <summary>σ = uᵀ W v with u, v from power iteration treated as constants, so the gradient flows through W only.
    /// u is a copy: the buffer changes in place at the next training forward, while this graph may still be alive
    /// (the discriminator sees real and fake images before one backward).</summary>
    private Tensor Estimate(bool update)
    {
        var w = _weight().reshape(_weight().shape[0], -1);
        Tensor u = weight_u.detach().clone(), v;
        using (no_grad())
        {
            v = F.normalize(mv(w.t(), u), p: 2, dim: 0, eps: Eps);
            if (update)
            {
                for (var i = 0; i < _powerIterations; i++)
                {
                    if (i > 0) v = F.normalize(mv(w.t(), u), p: 2, dim: 0, eps: Eps);
                    u = F.normalize(mv(w, v), p: 2, dim: 0, eps: Eps);
                }
                weight_u.copy_(u);
            }
        }
        return dot(u, mv(w, v));
    }
}
