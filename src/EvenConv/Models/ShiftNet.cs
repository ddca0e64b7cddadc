using EvenConv.Distributed;
using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Models;

/// <summary>
/// Shift "CSC" block of the authors' <c>shiftnet.py</c>: <c>bn1</c>-ReLU → <c>conv1</c> 1×1 expand (×e) → 9-direction
/// <c>shift</c> → <c>bn2</c>-ReLU → <c>conv2</c> 1×1 (stride). Same width and stride 1: the input is added. Otherwise a
/// 3×3/s average pool of the input is concatenated with the block's out − in new channels.
/// </summary>
public sealed class ShiftBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly BatchNorm2d bn1, bn2;
    private readonly ConvLayer conv1, conv2;
    private readonly GroupShiftLayer shift;
    private readonly int _stride;
    private readonly bool _concat;

    public ShiftBlock(int inChannels, int outChannels, int stride, int expansion) : base("shift_block")
    {
        _concat = stride != 1 || inChannels != outChannels;
        if (_concat && outChannels <= inChannels)
            throw new ArgumentException($"A downsampling Shift block concatenates the pooled input, so it must widen: got {inChannels} → {outChannels}.", nameof(outChannels));
        bn1 = Components.Norm(inChannels);
        conv1 = Components.Pointwise(inChannels, inChannels * expansion);
        shift = new GroupShiftLayer();
        bn2 = Components.Norm(inChannels * expansion);
        conv2 = Components.Pointwise(inChannels * expansion, _concat ? outChannels - inChannels : outChannels, stride);
        _stride = stride;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = shift.call(conv1.call(F.relu(SyncBatchNorm.Call(bn1, input), inplace: true)));
        x = conv2.call(F.relu(SyncBatchNorm.Call(bn2, x), inplace: true));
        if (!_concat) return x.add_(input).MoveToOuterDisposeScope();
        var pooled = _stride == 1 ? input : F.avg_pool2d(input, kernel_size: 3, stride: _stride, padding: 1, count_include_pad: false);
        return cat([pooled, x], 1).MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var x = graph.Module(shift, PreActivationConv.WriteOnnx(graph, bn1, Activation.Relu, conv1, input));
        x = PreActivationConv.WriteOnnx(graph, bn2, Activation.Relu, conv2, x);
        if (!_concat) return graph.Add(x, input);
        var pooled = _stride == 1 ? input : graph.AveragePool(input, 3, _stride, 1, countIncludePad: false);
        return graph.Concat([pooled, x]);
    }
}

/// <summary>Shift-CSC network for CIFAR, the zero-FLOP spatial baseline of the overhead comparison (§3.5).</summary>
public static class ShiftNet
{
    /// <summary>3×3 stem to <paramref name="widths"/>[0], three stages of <paramref name="blocksPerStage"/> CSC blocks at
    /// <paramref name="widths"/> (the authors': 18/36/72, divisible by 9 after expansion) and strides 1/2/2, head
    /// BN-ReLU-GAP-FC. Two convolutions per block, so depth 6n+2: n = 3, 9, 18 give 20, 56, 110 layers.</summary>
    public static ConvNet Cifar(int blocksPerStage, ModelOptions options, int expansion = 6, int[]? widths = null)
    {
        options.Validate();
        if (blocksPerStage < 1) throw new ArgumentOutOfRangeException(nameof(blocksPerStage), blocksPerStage, "Blocks per stage must be at least 1 (3 gives 20 layers).");
        widths ??= [18, 36, 72];
        var stem = new Stem(options.InChannels, new StemConfig(widths[0]), Activation.Relu);
        var channels = widths[0];
        var stages = new List<Stage>();
        for (var s = 0; s < widths.Length; s++)
        {
            var blocks = new List<nn.Module<Tensor, Tensor>>();
            for (var i = 0; i < blocksPerStage; i++)
            {
                blocks.Add(new ShiftBlock(channels, widths[s], i == 0 && s > 0 ? 2 : 1, expansion));
                channels = widths[s];
            }
            stages.Add(new Stage(blocks));
        }
        return new ConvNet($"shift_csc{6 * blocksPerStage + 2}", stem, stages, new ClassifierHead(channels, options.NumClasses, new HeadConfig(), Activation.Relu));
    }
}
