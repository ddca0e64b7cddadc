using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Training;

/// <summary>
/// SGD with (Nesterov) momentum and L2 weight decay, PyTorch's update rule: d = g + λ·w; v = μ·v + d;
/// w −= lr·(d + μ·v) (Nesterov) or lr·v. Written here rather than using torch.optim.SGD so that the momentum buffers
/// are ordinary named tensors that checkpoints save and restore exactly. Buffers start at zero, which gives
/// PyTorch's first step (v = d) bit for bit.
/// </summary>
public sealed class NesterovSgd : IDisposable
{
    private readonly (string Name, Parameter Param, Tensor Velocity, double Decay)[] _entries;
    private readonly double _momentum;
    private readonly bool _nesterov;

    /// <summary>Optimises <paramref name="model"/>'s parameters; those named by <paramref name="noDecay"/> ("bn": normalisation
    /// layers' γ and β; "bias": every bias) get no weight decay.</summary>
    public NesterovSgd(nn.Module model, double momentum, bool nesterov, double weightDecay, IReadOnlyCollection<string> noDecay)
    {
        var normParams = new HashSet<string>();
        foreach (var (prefix, module) in model.named_modules())
            if (module is BatchNorm1d or BatchNorm2d or BatchNorm3d or GroupNorm or LayerNorm or InstanceNorm2d)
                foreach (var (name, _) in module.named_parameters())
                    normParams.Add(prefix.Length == 0 ? name : $"{prefix}.{name}");
        _entries = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p =>
        {
            var excluded = (noDecay.Contains("bn") && normParams.Contains(p.name)) ||
                           (noDecay.Contains("bias") && (p.name == "bias" || p.name.EndsWith(".bias", StringComparison.Ordinal)));
            return (p.name, p.parameter, zeros_like(p.parameter).DetachFromDisposeScope(), excluded ? 0.0 : weightDecay);
        }).ToArray();
        (_momentum, _nesterov) = (momentum, nesterov);
    }

    /// <summary>Names of parameters that get no weight decay.</summary>
    public IEnumerable<string> Undecayed => _entries.Where(e => e.Decay == 0).Select(e => e.Name);

    /// <summary>The momentum buffers by parameter name (for checkpoints).</summary>
    public IEnumerable<(string Name, Tensor Velocity)> Velocities => _entries.Select(e => (e.Name, e.Velocity));

    public void ZeroGrad()
    {
        foreach (var e in _entries) e.Param.grad?.zero_();
    }

    /// <summary>One update with learning rate <paramref name="lr"/>.</summary>
    public void Step(double lr)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, param, velocity, decay) in _entries)
        {
            var grad = param.grad;
            if (grad is null) continue;
            var d = decay != 0 ? grad.add(param, alpha: decay) : grad;
            velocity.mul_(_momentum).add_(d);
            param.add_(_nesterov ? d.add(velocity, alpha: _momentum) : velocity, alpha: -lr);
        }
    }

    public void Dispose()
    {
        foreach (var e in _entries) e.Velocity.Dispose();
    }
}
