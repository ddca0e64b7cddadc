using EvenConv.Distributed;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Models;

/// <summary>The first layer of a network. Its kernel is fixed by the architecture, whatever the model's conv kind: the
/// paper's tables count a 3×3 CIFAR stem and a 7×7 ImageNet stem for every kind (paper.md §3.1.1, stem note).</summary>
/// <param name="OutChannels">Channels after the stem convolution.</param>
/// <param name="KernelSize">Odd kernel size of the stem convolution.</param>
/// <param name="Stride">Stride of the stem convolution.</param>
/// <param name="Norm">Batch norm and activation after the convolution (post-activation nets); pre-activation nets leave
/// normalisation to the first block.</param>
/// <param name="MaxPool">A 3×3/2 max-pool at the end (ImageNet ResNet, DenseNet, ShuffleNet).</param>
public sealed record StemConfig(int OutChannels, int KernelSize = 3, int Stride = 1, bool Norm = false, bool MaxPool = false);

/// <summary>Stem module: <c>conv</c> [→ <c>bn</c> → activation] [→ max-pool 3×3/2].</summary>
public sealed class Stem : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ConvLayer conv;
    private readonly BatchNorm2d? bn;
    private readonly Activation _activation;
    private readonly bool _maxPool;

    public Stem(int inChannels, StemConfig config, Activation activation) : base("stem")
    {
        if (config.KernelSize % 2 == 0)
            throw new ArgumentException($"Stem kernel size {config.KernelSize} must be odd (3 or 7 in the paper's models).", nameof(config));
        conv = Conv.Create(new ConvSpec(inChannels, config.OutChannels, new ConvKind(config.KernelSize, PaddingScheme.Centered), config.Stride));
        if (config.Norm) bn = Components.Norm(config.OutChannels);
        _activation = activation;
        _maxPool = config.MaxPool;
        OutChannels = config.OutChannels;
        RegisterComponents();
    }

    /// <summary>Channels of the stem's output.</summary>
    public int OutChannels { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv.call(input);
        if (bn is not null) x = _activation.ApplyInPlace(SyncBatchNorm.Call(bn, x));
        // TensorFlow's SAME 3×3/2 max-pool gives ceil(H/2), as does padding 1 on each side.
        if (_maxPool) x = F.max_pool2d(x, kernel_size: 3, stride: 2, padding: 1);
        return x.MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var x = bn is null ? graph.Module(conv, input) : _activation.WriteOnnx(graph, OnnxConvolution.WriteWithNorm(graph, conv, bn, input));
        return _maxPool ? graph.MaxPool(x, 3, 2, 1) : x;
    }
}
