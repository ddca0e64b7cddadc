using EvenConv.Distributed;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Models;

/// <summary>The classifier at the end of a network.</summary>
/// <param name="ConvChannels">A final 1×1 convolution to this many channels before pooling (MobileNetV2, ShuffleNetV2,
/// ResNet-50 0.5x C2sp optim), or null.</param>
/// <param name="NormBeforeConv">Batch norm and activation before that convolution, for pre-activation networks whose
/// last block ends un-normalised.</param>
/// <param name="Dropout">Dropout probability before the fully connected layer (0.2 in the authors' compact ImageNet nets).</param>
/// <param name="FcBias">Whether the fully connected layer has a bias.</param>
public sealed record HeadConfig(int? ConvChannels = null, bool NormBeforeConv = false, double Dropout = 0, bool FcBias = true);

/// <summary>
/// [<c>pre_bn</c> → act →] [<c>conv</c> 1×1 →] <c>bn</c> → act → global average pool → [dropout →] <c>fc</c>. With neither
/// optional part this is the pre-activation head BN-ReLU-GAP-FC; with a conv and no <c>pre_bn</c> it is the
/// post-activation head conv-BN-ReLU-GAP-FC of MobileNetV2 and ShuffleNetV2.
/// </summary>
public sealed class ClassifierHead : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly BatchNorm2d? pre_bn;
    private readonly ConvLayer? conv;
    private readonly BatchNorm2d bn;
    private readonly Linear fc;
    private readonly Activation _activation;
    private readonly double _dropout;

    public ClassifierHead(int inChannels, int numClasses, HeadConfig config, Activation activation) : base("head")
    {
        if (config.Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(config), config.Dropout, "Dropout must be in [0, 1).");
        var channels = inChannels;
        if (config.ConvChannels is int c)
        {
            if (config.NormBeforeConv) pre_bn = Components.Norm(inChannels);
            conv = Components.Pointwise(inChannels, c);
            channels = c;
        }
        bn = Components.Norm(channels);
        fc = nn.Linear(channels, numClasses, hasBias: config.FcBias);
        _activation = activation;
        _dropout = config.Dropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        if (pre_bn is not null) x = _activation.ApplyInPlace(SyncBatchNorm.Call(pre_bn, x));
        if (conv is not null) x = conv.call(x);
        x = _activation.ApplyInPlace(SyncBatchNorm.Call(bn, x)).mean([2, 3]);
        if (_dropout > 0) x = F.dropout(x, _dropout, training);
        return fc.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>Eval mode: dropout is the identity.</summary>
    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var x = input;
        if (pre_bn is not null) x = _activation.WriteOnnx(graph, graph.Module(pre_bn, x));
        x = conv is null ? graph.Module(bn, x) : OnnxConvolution.WriteWithNorm(graph, conv, bn, x);
        return graph.Module(fc, graph.GlobalAveragePoolFlat(_activation.WriteOnnx(graph, x)));
    }
}
