using EvenConv.Distributed;
using EvenConv.Interop.Onnx;
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

/// <summary>What every pre-activation block shares: the input or a 1×1 projection <c>shortcut</c> (stride s) when the
/// stride or width changes, added to the residual branch; which tensor the projection reads; the activation. Each
/// BN-activation-convolution runs through <see cref="PreActivationConv"/> (one op for C2sp in training) except where the
/// shortcut reads the first activation, which then has to exist as a tensor.</summary>
public abstract class PreActBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    // Protected, not private: TorchSharp registers the fields the derived type sees, after the derived type's own
    // (bn1, conv1, … then shortcut: the state-dict order of the torchvision-style blocks).
    protected readonly ConvLayer? shortcut;
    private readonly Activation _activation;
    private readonly ShortcutInput _shortcutInput;

    private protected PreActBlock(string name, int inChannels, int outChannels, int stride, SpatialConv spatial, Activation activation, ShortcutInput shortcutInput)
        : base(name)
    {
        if (stride != 1 || inChannels != outChannels) shortcut = Components.Pointwise(inChannels, outChannels, stride, spatial.StrideMode);
        _activation = activation;
        _shortcutInput = shortcutInput;
    }

    public sealed override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor residual, identity;
        if (shortcut is not null && _shortcutInput == ShortcutInput.PreActivated)
        {
            var a = _activation.ApplyInPlace(SyncBatchNorm.Call(FirstNorm, input));
            (residual, identity) = (AfterFirstConv(FirstConv.call(a)), shortcut.call(a));
        }
        else
            (residual, identity) = (AfterFirstConv(NormActConv(FirstNorm, FirstConv, input)), shortcut?.call(input) ?? input);
        return residual.add_(identity).MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        string residual, identity;
        if (shortcut is not null && _shortcutInput == ShortcutInput.PreActivated)
        {
            var a = _activation.WriteOnnx(graph, graph.Module(FirstNorm, input));
            (residual, identity) = (AfterFirstConvOnnx(graph, graph.Module(FirstConv, a)), graph.Module(shortcut, a));
        }
        else
            (residual, identity) = (AfterFirstConvOnnx(graph, NormActConvOnnx(graph, FirstNorm, FirstConv, input)), shortcut is null ? input : graph.Module(shortcut, input));
        return graph.Add(residual, identity);
    }

    /// <summary>The batch norm the block input goes through first (<c>bn1</c>).</summary>
    private protected abstract BatchNorm2d FirstNorm { get; }

    /// <summary>The convolution after it (<c>conv1</c>).</summary>
    private protected abstract nn.Module<Tensor, Tensor> FirstConv { get; }

    /// <summary>The rest of the residual branch, from the output of <see cref="FirstConv"/>.</summary>
    private protected abstract Tensor AfterFirstConv(Tensor firstConvOutput);

    /// <summary>The ONNX of <see cref="AfterFirstConv"/>.</summary>
    private protected abstract string AfterFirstConvOnnx(OnnxGraph graph, string firstConvOutput);

    private protected string NormActConvOnnx(OnnxGraph graph, BatchNorm2d norm, nn.Module<Tensor, Tensor> conv, string x) =>
        PreActivationConv.WriteOnnx(graph, norm, _activation, conv, x);

    /// <summary><c>conv(act(norm(x)))</c>.</summary>
    private protected Tensor NormActConv(BatchNorm2d norm, nn.Module<Tensor, Tensor> conv, Tensor x) => PreActivationConv.Apply(norm, _activation, conv, x);
}

/// <summary>Pre-activation basic block: <c>bn1</c>-act → <c>conv1</c>(stride) → <c>bn2</c>-act → <c>conv2</c>, plus the input or a
/// 1×1 projection <c>shortcut</c> (stride s) when the stride or width changes.</summary>
public sealed class PreActBasicBlock : PreActBlock
{
    private readonly BatchNorm2d bn1, bn2;
    private readonly nn.Module<Tensor, Tensor> conv1, conv2;

    public PreActBasicBlock(int inChannels, int outChannels, int stride, SpatialConv spatial, Activation activation, ShortcutInput shortcutInput)
        : base("basic", inChannels, outChannels, stride, spatial, activation, shortcutInput)
    {
        bn1 = Components.Norm(inChannels);
        conv1 = spatial.Create(inChannels, outChannels, stride);
        bn2 = Components.Norm(outChannels);
        conv2 = spatial.Create(outChannels, outChannels);
        RegisterComponents();
    }

    private protected override BatchNorm2d FirstNorm => bn1;

    private protected override nn.Module<Tensor, Tensor> FirstConv => conv1;

    private protected override Tensor AfterFirstConv(Tensor firstConvOutput) => NormActConv(bn2, conv2, firstConvOutput);

    private protected override string AfterFirstConvOnnx(OnnxGraph graph, string firstConvOutput) => NormActConvOnnx(graph, bn2, conv2, firstConvOutput);
}

/// <summary>Pre-activation bottleneck block: <c>bn1</c>-act → <c>conv1</c> 1×1 → <c>bn2</c>-act → <c>conv2</c> k×k (stride) →
/// <c>bn3</c>-act → <c>conv3</c> 1×1, plus the input or a 1×1 projection <c>shortcut</c>.</summary>
public sealed class PreActBottleneckBlock : PreActBlock
{
    private readonly BatchNorm2d bn1, bn2, bn3;
    private readonly ConvLayer conv1, conv3;
    private readonly nn.Module<Tensor, Tensor> conv2;

    public PreActBottleneckBlock(int inChannels, int outChannels, int innerChannels, int stride, SpatialConv spatial, Activation activation, ShortcutInput shortcutInput)
        : base("bottleneck", inChannels, outChannels, stride, spatial, activation, shortcutInput)
    {
        bn1 = Components.Norm(inChannels);
        conv1 = Components.Pointwise(inChannels, innerChannels);
        bn2 = Components.Norm(innerChannels);
        conv2 = spatial.Create(innerChannels, innerChannels, stride);
        bn3 = Components.Norm(innerChannels);
        conv3 = Components.Pointwise(innerChannels, outChannels);
        RegisterComponents();
    }

    private protected override BatchNorm2d FirstNorm => bn1;

    private protected override nn.Module<Tensor, Tensor> FirstConv => conv1;

    private protected override Tensor AfterFirstConv(Tensor firstConvOutput) =>
        NormActConv(bn3, conv3, NormActConv(bn2, conv2, firstConvOutput));

    private protected override string AfterFirstConvOnnx(OnnxGraph graph, string firstConvOutput) =>
        NormActConvOnnx(graph, bn3, conv3, NormActConvOnnx(graph, bn2, conv2, firstConvOutput));
}
