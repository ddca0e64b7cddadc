using EvenConv.Interop.Onnx;
using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Ops;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

public class ScratchTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("pooled", false, false)]
    [InlineData("pooled", true, false)]
    [InlineData("pooled", true, true)]
    [InlineData("shift", false, false)]
    [InlineData("shift", true, false)]
    [InlineData("shift", true, true)]
    [InlineData("shiftblock", true, false)]
    [InlineData("shiftblock", true, true)]
    public void Probe(string what, bool random, bool nchw)
    {
        var saved = TensorLayout.Default;
        if (nchw) TensorLayout.Default = MemoryLayout.Nchw;
        var o = new ModelOptions(ConvKind.C3, 3, 4, 11, 13);
        nn.Module<Tensor, Tensor> m = what switch
        {
            "pooled" => ResNet.Create(ResNet.ResNet50HalfConfig() with
            {
                Stages = [new StageConfig(1, 16, 1), new StageConfig(1, 32, 2), new StageConfig(1, 40, 2)],
                Stem = new StemConfig(8, 7, 2, MaxPool: true),
            }, o),
            "shiftblock" => nn.Sequential(("a", new ShiftBlock(9, 18, 2, 3)), ("g", nn.Flatten())),
            _ => ShiftNet.Cifar(1, o),
        };
        TensorLayout.Default = saved;
        if (random) InteropModels.WithRandomStatistics(m);
        var proto = OnnxExporter.Export(m, new OnnxExportOptions(what == "shiftblock" ? 9 : 3, 11, 13));
        using var x = randn(2, what == "shiftblock" ? 9 : 3, 11, 13);
        var r = OnnxVerification.Compare(m, proto, x);
        output.WriteLine($"{what} random={random} nchw={nchw}: {r}");
    }
}
