using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>What the projection shortcut of a pre-activation block reads when the stride or width changes.</summary>
public enum ShortcutInput
{
    /// <summary>The raw block input (the authors' 2019 CIFAR ResNet).</summary>
    Raw,
    /// <summary>The block input after the first BN-activation (the authors' ImageNet ResNets, He et al.'s pre-activation paper).</summary>
    PreActivated,
}

/// <summary>Pre-activation basic block: <c>bn1</c>-act → <c>conv1</c>(stride) → <c>bn2</c>-act → <c>conv2</c>, plus the input or a
/// 1×1 projection <c>shortcut</c> (stride s) when the stride or width changes.</summary>
public sealed class PreActBasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly BatchNorm2d bn1, bn2;
    private readonly nn.Module<Tensor, Tensor> conv1, conv2;
    private readonly ConvLayer? shortcut;
    private readonly Activation _activation;
    private readonly ShortcutInput _shortcutInput;

    public PreActBasicBlock(int inChannels, int outChannels, int stride, SpatialConv spatial, Activation activation, ShortcutInput shortcutInput)
        : base("basic")
    {
        bn1 = Components.Norm(inChannels);
        conv1 = spatial.Create(inChannels, outChannels, stride);
        bn2 = Components.Norm(outChannels);
        conv2 = spatial.Create(outChannels, outChannels);
        if (stride != 1 || inChannels != outChannels) shortcut = Components.Pointwise(inChannels, outChannels, stride, spatial.StrideMode);
        _activation = activation;
        _shortcutInput = shortcutInput;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var a = _activation.ApplyInPlace(bn1.call(input));
        var residual = conv2.call(_activation.ApplyInPlace(bn2.call(conv1.call(a))));
        var identity = shortcut is null ? input : shortcut.call(_shortcutInput == ShortcutInput.Raw ? input : a);
        return residual.add_(identity).MoveToOuterDisposeScope();
    }
}

/// <summary>Pre-activation bottleneck block: <c>bn1</c>-act → <c>conv1</c> 1×1 → <c>bn2</c>-act → <c>conv2</c> k×k (stride) →
/// <c>bn3</c>-act → <c>conv3</c> 1×1, plus the input or a 1×1 projection <c>shortcut</c>.</summary>
public sealed class PreActBottleneckBlock : nn.Module<Tensor, Tensor>
{
    private readonly BatchNorm2d bn1, bn2, bn3;
    private readonly ConvLayer conv1, conv3;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly ConvLayer? shortcut;
    private readonly Activation _activation;
    private readonly ShortcutInput _shortcutInput;

    public PreActBottleneckBlock(int inChannels, int outChannels, int innerChannels, int stride, SpatialConv spatial, Activation activation, ShortcutInput shortcutInput)
        : base("bottleneck")
    {
        bn1 = Components.Norm(inChannels);
        conv1 = Components.Pointwise(inChannels, innerChannels);
        bn2 = Components.Norm(innerChannels);
        conv2 = spatial.Create(innerChannels, innerChannels, stride);
        bn3 = Components.Norm(innerChannels);
        conv3 = Components.Pointwise(innerChannels, outChannels);
        if (stride != 1 || inChannels != outChannels) shortcut = Components.Pointwise(inChannels, outChannels, stride, spatial.StrideMode);
        _activation = activation;
        _shortcutInput = shortcutInput;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var a = _activation.ApplyInPlace(bn1.call(input));
        var x = conv2.call(_activation.ApplyInPlace(bn2.call(conv1.call(a))));
        var residual = conv3.call(_activation.ApplyInPlace(bn3.call(x)));
        var identity = shortcut is null ? input : shortcut.call(_shortcutInput == ShortcutInput.Raw ? input : a);
        return residual.add_(identity).MoveToOuterDisposeScope();
    }
}
