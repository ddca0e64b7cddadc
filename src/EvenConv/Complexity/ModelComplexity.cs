using EvenConv.Layers;
using EvenConv.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Complexity;

/// <summary>One counted layer: a convolution, a fully connected layer or a batch norm.</summary>
/// <param name="Name">Module path, e.g. "stages.0.blocks.1.conv2".</param>
/// <param name="Type">"conv k×k", "conv k×k dw", "fc" or "bn".</param>
/// <param name="OutputShape">Output shape for one image (without the batch dimension).</param>
/// <param name="Params">Parameters of this layer itself.</param>
/// <param name="Macs">Multiply-accumulates per image.</param>
/// <param name="ActivationElements">Output elements per image counted as activation memory (conv and BN outputs).</param>
public sealed record LayerComplexity(string Name, string Type, long[] OutputShape, long Params, long Macs, long ActivationElements);

/// <summary>Parameters, MACs and activation memory of a model at one input size.</summary>
/// <param name="Params">All trainable parameters (batch-norm γ and β included; running statistics are buffers, not counted).</param>
/// <param name="Macs">Multiply-accumulates of every convolution and fully connected layer, per image.</param>
/// <param name="ActivationBytesPerImage">Elements of every conv and BN output × 4 bytes: the authors' memory estimate.</param>
/// <param name="Layers">The counted layers in execution order.</param>
public sealed record ComplexityReport(long Params, long Macs, long ActivationBytesPerImage, IReadOnlyList<LayerComplexity> Layers);

/// <summary>
/// Counts a model under the paper's rules (Appendix A, the authors' <c>net.py</c>): a convolution costs
/// C_in/groups·k·k·C_out·H_out·W_out MACs (so C2sp costs exactly what C2 costs, and a pooled stride-2 conv is counted at
/// its output size), a fully connected layer C_in·C_out; pooling, batch norm, activations, additions, concatenation,
/// padding and shuffles cost nothing. Shapes come from one real forward pass of a single image with hooks on every
/// layer, so any model — including one a user writes from TorchSharp's Conv2d, Linear and BatchNorm — is counted.
/// </summary>
public static class ModelComplexity
{
    /// <summary>Counts <paramref name="model"/> on an input of the size and channels in <paramref name="options"/>.</summary>
    public static ComplexityReport Count(nn.Module<Tensor, Tensor> model, ModelOptions options) =>
        Count(model, options.InChannels, options.InputHeight, options.InputWidth);

    /// <summary>Counts <paramref name="model"/> on a 1×<paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/> input.
    /// Runs in eval mode without gradients and restores the model's mode afterwards.</summary>
    public static ComplexityReport Count(nn.Module<Tensor, Tensor> model, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = new List<LayerComplexity>();
        var removers = new List<Action>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not nn.Module<Tensor, Tensor> counted || Describe(counted) is not { } type) continue;
            var layerName = name;
            var layerType = type;
            var remover = counted.register_forward_hook((m, input, output) =>
            {
                layers.Add(Measure(layerName, layerType, m, output));
                return null!;
            });
            removers.Add(remover.remove);
        }

        var wasTraining = model.training;
        try
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.call(zeros(1, channels, height, width));
        }
        finally
        {
            foreach (var remove in removers) remove();
            model.train(wasTraining);
        }

        var parameters = model.parameters().Sum(p => p.numel());
        return new ComplexityReport(parameters, layers.Sum(l => l.Macs), 4 * layers.Sum(l => l.ActivationElements), layers);
    }

    private static string? Describe(nn.Module<Tensor, Tensor> module) => module switch
    {
        ConvLayer c => $"conv {c.Spec.Kind}{(c.Spec.Groups > 1 ? c.Spec.Groups == c.Spec.InChannels ? " dw" : $" g{c.Spec.Groups}" : "")}",
        Conv2d c => $"conv {c.weight!.shape[2]}×{c.weight!.shape[3]}",
        Linear => "fc",
        BatchNorm2d or BatchNorm1d => "bn",
        _ => null,
    };

    private static LayerComplexity Measure(string name, string type, nn.Module<Tensor, Tensor> module, Tensor output)
    {
        var shape = output.shape.Skip(1).ToArray();
        var elements = shape.Aggregate(1L, (a, b) => a * b);
        var ownParams = module.parameters(recurse: false).Sum(p => p.numel());
        if (type == "bn") return new LayerComplexity(name, type, shape, ownParams, 0, elements);
        // Every output element of a conv or fc takes one weight slice's worth of MACs: |W| / C_out.
        var weight = module switch { ConvLayer c => c.Weight, Conv2d c => c.weight!, Linear l => l.weight!, _ => throw new InvalidOperationException(type) };
        var macs = weight.numel() / weight.shape[0] * elements;
        return new LayerComplexity(name, type, shape, ownParams, macs, type == "fc" ? 0 : elements);
    }
}
