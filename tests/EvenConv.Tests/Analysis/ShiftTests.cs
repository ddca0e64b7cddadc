using EvenConv.Analysis;
using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Analysis;

public class ShiftTests
{
    private const int Canvas = 41, Centre = 20;

    // (kind, expected displacement of an impulse after n layers per layer)
    public static TheoryData<string, double> Kinds => new()
    {
        { "c2", -0.5 }, { "c4", -0.5 }, { "c3", 0 }, { "c5", 0 }, { "c2sp", 0 }, { "c4sp", 0 },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Stacked_mean_filters_move_an_impulse_by_half_a_pixel_per_even_same_layer_and_conserve_its_mass(string kindName, double perLayer)
    {
        var kind = ConvKind.Parse(kindName);
        for (var n = 1; n <= 4; n++)
        {
            using var scope = NewDisposeScope();
            using var stack = MeanFilters.Stack(kind, n, channels: 4, ScalarType.Float64);
            var impulse = zeros(1, 4, Canvas, Canvas, dtype: ScalarType.Float64);
            impulse[.., .., Centre, Centre] = tensor(1.0, dtype: ScalarType.Float64);
            using var _ = no_grad();
            var map = MapStatistics.ToArray(stack.call(impulse).sum([0, 1]) / 4);
            var c = MapStatistics.Centroid(map);
            Assert.Equal(1.0, c.Mass, 12);
            Assert.Equal(Centre + n * perLayer, c.Y, 12);
            Assert.Equal(Centre + n * perLayer, c.X, 12);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Analytic_offset_of_a_stack_is_the_opposite_of_the_impulse_displacement(string kindName, double perLayer)
    {
        using var stack = MeanFilters.Stack(ConvKind.Parse(kindName), 6, channels: 4);
        var trace = ShiftTracer.Trace(stack, 4, 32, 32);
        Assert.Equal(6, trace.Layers.Count);
        Assert.All(trace.Layers, l => Assert.True(l.MainPath));
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(-(i + 1) * perLayer, trace.Layers[i].OffsetY, 12);
            Assert.Equal(-perLayer, trace.Layers[i].StepX, 12);
        }
        Assert.Equal((-6 * perLayer, -6 * perLayer), trace.Total);
    }

    [Fact]
    public void Analytic_and_measured_offsets_agree_on_a_linear_stack_with_strides_pools_and_plain_torch_layers()
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("c2", MeanFilters.Layer(ConvKind.C2, 4)),
            ("c4", MeanFilters.Layer(ConvKind.C4, 4)),
            ("c2sp_s2", MeanFilters.Layer(ConvKind.C2sp, 4, stride: 2)),
            ("c2_pool2", MeanFilters.Layer(ConvKind.C2, 4, stride: 2, mode: StrideMode.Pool)),
            ("c3_dil2", MeanFilters.Layer(ConvKind.C3, 4, dilation: 2)),
            ("torch_conv_s2", TorchMean(nn.Conv2d(4, 4, 3, stride: 2, padding: 1, bias: false))),
            ("avgpool", nn.AvgPool2d(2)),
            ("pad", nn.ZeroPad2d((1L, 0L, 1L, 0L))),
            ("torch_valid2", TorchMean(nn.Conv2d(4, 4, 2, bias: false))),
            ("c4sp", MeanFilters.Layer(ConvKind.C4sp, 4)),
        };
        using var model = nn.Sequential(layers);
        var measured = ReceptiveFieldShift.Measure(model, 4, 192, 192, new ErfOptions { MainPathOnly = false, Samples = 1 });
        Assert.Equal(layers.Count, measured.Count);
        foreach (var m in measured)
        {
            Assert.Equal(m.Layer.OffsetY, m.OffsetY, 3);
            Assert.Equal(m.Layer.OffsetX, m.OffsetX, 3);
        }
        // Worked by hand: C2 and C4 add 0.5 each; a stride-2 layer whose window is centred on 2i (C2sp, C3 with pad 1)
        // sits half a layer-input pixel above the extent-aligned grid (−0.5 at scale 1, −2 at scale 4); pool + C2 at
        // scale 2 adds 2·0.5; one pixel of top/left padding at scale 16 is −16, and the valid C2 after it +8.
        Assert.Equal([0.5, 1, 0.5, 2.5, 2.5, 0.5, 0.5, -15.5, -7.5, -7.5], measured.Select(m => m.Layer.OffsetY).ToArray());
    }

    [Fact]
    public void A_residual_block_keeps_the_shortcut_off_the_main_path_whatever_runs_first()
    {
        using var model = nn.Sequential(("block", new ShortcutFirstBlock()), ("after", MeanFilters.Layer(ConvKind.C2, 4)));
        var trace = ShiftTracer.Trace(model, 4, 16, 16);
        Assert.Equal(["block.shortcut", "block.conv1", "block.conv2", "after"], trace.Layers.Select(l => l.Name).ToArray());
        Assert.Equal([false, true, true, true], trace.Layers.Select(l => l.MainPath).ToArray());
        Assert.Equal((1.5, 1.5), trace.Total);
        Assert.Equal(2, trace.Layers[3].Parent);
    }

    [Fact]
    public void Tracing_leaves_no_hooks_behind_and_restores_the_training_mode()
    {
        using var model = MeanFilters.Stack(ConvKind.C2, 3, 4);
        model.train();
        var first = ShiftTracer.Trace(model, 4, 8, 8);
        var second = ShiftTracer.Trace(model, 4, 8, 8);
        Assert.Equal(first.Layers.Count, second.Layers.Count);
        Assert.True(model.training);
    }

    [Fact]
    public void Batch_norm_calibration_gives_finite_offsets_and_restores_the_running_statistics()
    {
        using var model = nn.Sequential(
            ("conv1", Conv.Create("c2sp", 3, 8)), ("bn", nn.BatchNorm2d(8)), ("relu", nn.ReLU()), ("conv2", Conv.Create("c2", 8, 8)));
        var bn = (TorchSharp.Modules.BatchNorm2d)model.named_modules().First(m => m.name == "bn").module;
        using var before = bn.running_var!.clone();
        var measured = ReceptiveFieldShift.Measure(model, 3, 24, 24, new ErfOptions { CalibrateBatchNorm = true });
        Assert.Equal(2, measured.Count);
        Assert.All(measured, m => Assert.True(double.IsFinite(m.OffsetY) && double.IsFinite(m.OffsetX)));
        Assert.True(bn.running_var!.allclose(before));
        Assert.Equal(0.1, bn.momentum);
    }

    private static nn.Module<Tensor, Tensor> TorchMean(TorchSharp.Modules.Conv2d conv)
    {
        using var _ = no_grad();
        conv.weight!.fill_(1.0 / conv.weight.shape.Aggregate(1L, (a, b) => a * b) * conv.weight.shape[0]);
        return conv;
    }

    /// <summary>Runs its 1×1 shortcut before the branch and adds functionally, like some hand-written blocks.</summary>
    private sealed class ShortcutFirstBlock : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> shortcut, conv1, conv2;

        public ShortcutFirstBlock() : base("block")
        {
            shortcut = MeanFilters.Layer(ConvKind.C1, 4);
            conv1 = MeanFilters.Layer(ConvKind.C2, 4);
            conv2 = MeanFilters.Layer(ConvKind.C2, 4);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => shortcut.call(input) + conv2.call(conv1.call(input));
    }
}
