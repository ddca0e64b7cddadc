using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Ops;
using EvenConv.Tests.Models;
using Onnx;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

/// <summary>Every model of the zoo and every kernel kind, exported to ONNX and run in ONNX Runtime, against EvenConv's
/// own eval-mode forward: the ONNX graph is written from the modules' descriptions, not traced, so these comparisons are
/// what ties the two together.</summary>
public class OnnxExportTests(ITestOutputHelper output)
{
    /// <summary>ONNX Runtime in float32 through up to 164 layers against float64: measured up to 4e-6 relative.</summary>
    private const double RelativeTolerance = 1e-4;

    public static TheoryData<string> RegisteredModels() => new(ModelRegistry.List().Select(i => i.Name));

    [Theory]
    [MemberData(nameof(RegisteredModels))]
    public void Registered_model_gives_the_same_logits_in_onnx_runtime(string name)
    {
        var info = ModelRegistry.Get(name);
        var options = ZooTests.TinyOptions(info.DefaultInputSize, info.DefaultConv);
        using var model = InteropModels.WithRandomStatistics(ModelRegistry.Create(name, options));
        Check(model, options, $"{name} {info.DefaultConv}");
    }

    /// <summary>The zoo tests' builder paths, plus MobileNetV2's depthwise convolution of the kind.</summary>
    private static readonly Dictionary<string, (Func<ModelOptions, nn.Module<Tensor, Tensor>> Build, bool ImageNetStem)> KindPaths =
        new(ZooTests.BuilderPaths) { ["mobilenetv2_depthwise"] = (o => MobileNetV2.Create(MobileNetV2.CifarConfig(1), o), false) };

    /// <summary>The paper's kinds and the rest of the family up to 7×7: 1×1, the 6×6 pair, 7×7.</summary>
    private static readonly ConvKind[] Kinds = [.. ConvKind.PaperKinds, ConvKind.C1, ConvKind.Parse("c6"), ConvKind.Parse("c6sp"), ConvKind.Parse("c7")];

    public static TheoryData<string, string> PathsAndKinds()
    {
        var data = new TheoryData<string, string>();
        foreach (var path in KindPaths.Keys)
            foreach (var kind in Kinds)
                data.Add(path, kind.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndKinds))]
    public void Every_kernel_kind_gives_the_same_logits_in_onnx_runtime(string path, string kind)
    {
        var (build, imageNetStem) = KindPaths[path];
        var options = ZooTests.TinyOptions(imageNetStem ? 224 : 32, ConvKind.Parse(kind));
        using var model = InteropModels.WithRandomStatistics(build(options));
        Check(model, options, $"{path} {kind}");
    }

    [Theory]
    [InlineData(true, null)]
    [InlineData(false, 3)]
    public void Batch_norm_folded_or_kept_and_static_or_dynamic_batch_agree(bool fold, int? batch)
    {
        var options = new ModelOptions(ConvKind.C2sp, 3, 4, 16, 16);
        using var model = InteropModels.WithRandomStatistics(ModelRegistry.Create("shufflenetv2_1.0", options with { Conv = ConvKind.C3 }));
        var proto = Check(model, options with { Conv = ConvKind.C3 }, $"shufflenetv2 fold={fold} batch={batch?.ToString() ?? "dynamic"}", fold, batch ?? 2, batch);
        var norms = proto.Graph.Node.Count(n => n.OpType == "BatchNormalization");
        if (fold) Assert.Equal(0, norms);          // every batch norm of ShuffleNetV2 follows a convolution
        else Assert.True(norms > 50, $"{norms} BatchNormalization nodes");
        var batchDim = proto.Graph.Input[0].Type.TensorType.Shape.Dim[0];
        Assert.Equal(batch is null ? "batch" : "", batchDim.DimParam);
        if (batch is { } n) Assert.Equal(n, batchDim.DimValue);
    }

    [Fact]
    public void Symmetric_padding_is_split_pad_concat_and_no_conv_has_asymmetric_pads()
    {
        var options = new ModelOptions(ConvKind.C2sp, 3, 10);
        using var model = ModelRegistry.Create("resnet20", options);
        var proto = OnnxExporter.Export(model, new OnnxExportOptions(3, 32, 32));
        Assert.Equal(OnnxExporter.Opset, proto.OpsetImport.Single().Version);
        var convs = proto.Graph.Node.Where(n => n.OpType == "Conv").ToList();
        Assert.Equal(21, convs.Count);   // the stem, 9 blocks × 2, 2 projection shortcuts
        foreach (var conv in convs)
        {
            var pads = conv.Attribute.Single(a => a.Name == "pads").Ints;
            Assert.True(pads.Distinct().Count() == 1, $"{conv.Name} has pads [{string.Join(", ", pads)}]");
        }
        // Each C2sp layer: one Split into the four groups, four Pads, one Concat.
        Assert.Equal(18, proto.Graph.Node.Count(n => n.OpType == "Split"));
        Assert.Equal(18 * 4, proto.Graph.Node.Count(n => n.OpType == "Pad"));
        Assert.Equal(18, proto.Graph.Node.Count(n => n.OpType == "Concat"));
        var weightNames = proto.Graph.Initializer.Select(i => i.Name).ToHashSet();
        Assert.Contains("stages.0.blocks.0.conv1.weight", weightNames);
        Assert.Contains("head.fc.weight", weightNames);
    }

    [Fact]
    public void Module_tree_of_evenconv_layers_and_torchsharp_modules_exports()
    {
        // Channel counts with empty and uneven padding groups (3, 6), dilation, groups, a bias, both stride modes.
        var options = new ModelOptions(ConvKind.C2sp, 3, 5, 13, 10);
        using var model = InteropModels.WithRandomStatistics(nn.Sequential(
            ("c2sp3", Conv.Create(new ConvSpec(3, 6, ConvKind.C2sp, Bias: true))),
            ("bn", nn.BatchNorm2d(6)),
            ("relu6", nn.ReLU6()),
            ("c4sp_dilated", Conv.Create(new ConvSpec(6, 6, ConvKind.C4sp, Groups: 2, Dilation: 2))),
            ("conv2d", nn.Conv2d(6, 8, 3, stride: 2, padding: 1)),
            ("shift", new GroupShiftLayer()),
            ("c2sp_pooled", Conv.Create(new ConvSpec(8, 10, ConvKind.C2sp, Stride: 2, StrideMode: StrideMode.Pool))),
            ("maxpool", nn.MaxPool2d(2, 1)),
            ("leaky", nn.LeakyReLU(0.1)),
            ("gap", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()),
            ("dropout", nn.Dropout(0.5)),
            ("fc", nn.Linear(10, 5))));
        Check(model, options, "sequential of EvenConv and TorchSharp modules");
    }

    [Fact]
    public void Channels_last_and_nchw_weights_export_the_same_file()
    {
        var options = new ModelOptions(ConvKind.C2sp, 3, 4);
        byte[] Export(MemoryLayout layout)
        {
            var saved = TensorLayout.Default;
            TensorLayout.Default = layout;
            try
            {
                torch.manual_seed(3);
                using var model = ResNet.Cifar(1, options);
                return Google.Protobuf.MessageExtensions.ToByteArray(OnnxExporter.Export(model, new OnnxExportOptions(3, 8, 8)));
            }
            finally
            {
                TensorLayout.Default = saved;
            }
        }
        Assert.Equal(Export(MemoryLayout.Nchw), Export(MemoryLayout.ChannelsLast));
    }

    [Fact]
    public void Unsupported_module_is_named_in_the_error()
    {
        using var model = nn.Sequential(("conv", Conv.Create(new ConvSpec(3, 4, ConvKind.C3))), ("act", nn.GELU()), ("gap", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten()));
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(model, new OnnxExportOptions(3, 8, 8)));
        Assert.Contains("'act'", e.Message);
        Assert.Contains("GELU", e.Message);
        Assert.Contains("IOnnxExportable", e.Message);
    }

    /// <summary>Exports <paramref name="model"/> (float32) and compares ONNX Runtime's logits with the model's forward
    /// in float64, which no float32 kernel of libtorch takes part in (on this host oneDNN computes some float32
    /// convolutions wrongly, docs/performance.md); the float32 forward's error is printed next to it.</summary>
    private ModelProto Check(nn.Module<Tensor, Tensor> model, ModelOptions options, string label, bool fold = true, int batch = 2, int? fixedBatch = null)
    {
        var proto = OnnxExporter.Export(model, new OnnxExportOptions(options.InChannels, options.InputHeight, options.InputWidth, fixedBatch, fold));
        var generator = new Generator(11);
        using var input = randn([batch, options.InChannels, options.InputHeight, options.InputWidth], generator: generator);
        var float32 = OnnxVerification.Compare(model, proto, input);
        model.to(float64);
        using var input64 = input.to(float64);
        var result = OnnxVerification.Compare(model, proto, input64);
        output.WriteLine($"{label}: max |ORT − EvenConv float64| = {result.MaxAbsError:E2} (float32 forward: {float32.MaxAbsError:E2}), output scale {result.OutputScale:F3}, relative {result.RelativeError:E2}");
        Assert.True(result.OutputScale > 1e-3, $"{label}: outputs are all near zero ({result.OutputScale}), the comparison would prove nothing");
        Assert.True(result.RelativeError <= RelativeTolerance, $"{label}: max |ORT − EvenConv| = {result.MaxAbsError:E3} at output scale {result.OutputScale:F4} (relative {result.RelativeError:E2} > {RelativeTolerance:E0})");
        return proto;
    }
}
