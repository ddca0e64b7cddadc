using EvenConv.Complexity;
using EvenConv.Layers;
using EvenConv.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Tests.Models;

/// <summary>Counts of the CIFAR sweep families against closed forms written out layer by layer (paper §3.1.1, Appendix A).</summary>
public class CifarCountTests
{
    /// <summary>Pre-activation ResNet-CIFAR, n blocks per stage, k×k kernels, 3×3 stem, FC 64→10 without bias.</summary>
    private static (long Params, long Macs) ResNetReference(int n, int k)
    {
        long kk = k * k, p = 0, m = 0;
        void Conv(long cin, long cout, long kernel, long hw) { p += cin * cout * kernel; m += cin * cout * kernel * hw; }
        void Bn(long c) => p += 2 * c;
        Conv(3, 16, 9, 32 * 32);
        long cin = 16;
        foreach (var (width, size) in new[] { (16L, 32L), (32L, 16L), (64L, 8L) })
            for (var b = 0; b < n; b++)
            {
                Bn(cin); Conv(cin, width, kk, size * size); Bn(width); Conv(width, width, kk, size * size);
                if (cin != width) Conv(cin, width, 1, size * size);
                cin = width;
            }
        Bn(64);
        p += 64 * 10; m += 64 * 10;
        return (p, m);
    }

    /// <summary>DenseNet-CIFAR without bottleneck or compression: 3×3 stem to 24, N BN-ReLU-k×k(→12) layers per block,
    /// transitions BN-ReLU-1×1 (C→C) + pool, FC C→100 with bias.</summary>
    private static (long Params, long Macs) DenseNetReference(int layers, int k)
    {
        long kk = k * k, c = 24, p = 3 * 24 * 9, m = 3 * 24 * 9 * 1024;
        long[] sizes = [32, 16, 8];
        for (var block = 0; block < 3; block++)
        {
            var hw = sizes[block] * sizes[block];
            for (var i = 0; i < layers; i++) { p += 2 * c + c * 12 * kk; m += c * 12 * kk * hw; c += 12; }
            if (block < 2) { p += 2 * c + c * c; m += c * c * hw; }
        }
        p += 2 * c + c * 100 + 100;
        m += c * 100;
        return (p, m);
    }

    [Theory]
    [InlineData(3, "c3"), InlineData(3, "c2"), InlineData(3, "c5"), InlineData(6, "c4")]
    public void Resnet_cifar_counts_match_the_closed_form(int n, string conv)
    {
        var kind = ConvKind.Parse(conv);
        var options = ModelOptions.Cifar(kind);
        using var model = ResNet.Cifar(n, options);
        var report = ModelComplexity.Count(model, options);
        Assert.Equal(ResNetReference(n, kind.KernelSize), (report.Params, report.Macs));
    }

    [Theory]
    [InlineData(6, "c3"), InlineData(6, "c2"), InlineData(6, "c5")]
    public void Densenet_cifar_counts_match_the_closed_form(int layers, string conv)
    {
        var kind = ConvKind.Parse(conv);
        var options = ModelOptions.Cifar(kind, 100);
        using var model = DenseNet.Cifar(layers, options);
        var report = ModelComplexity.Count(model, options);
        Assert.Equal(DenseNetReference(layers, kind.KernelSize), (report.Params, report.Macs));
    }

    [Fact]
    public void Symmetric_padding_costs_exactly_what_the_plain_even_kernel_costs()
    {
        foreach (var (plain, symmetric) in new[] { (ConvKind.C2, ConvKind.C2sp), (ConvKind.C4, ConvKind.C4sp) })
        {
            using var a = ResNet.Cifar(3, ModelOptions.Cifar(plain));
            using var b = ResNet.Cifar(3, ModelOptions.Cifar(symmetric));
            var ra = ModelComplexity.Count(a, ModelOptions.Cifar(plain));
            var rb = ModelComplexity.Count(b, ModelOptions.Cifar(symmetric));
            Assert.Equal((ra.Params, ra.Macs, ra.ActivationBytesPerImage), (rb.Params, rb.Macs, rb.ActivationBytesPerImage));
        }
    }

    [Fact]
    public void Wide_densenet_matches_the_paper_parameter_cells()
    {
        // Parameters need no forward pass: the registry's models hold exactly the counted parameters.
        using var c2sp = ModelRegistry.Create("densenet_bc_wide", ModelOptions.Cifar(ConvKind.C2sp));
        Assert.Equal(3.2, c2sp.parameters().Sum(p => p.numel()) / 1e6, 1);
        using var c3 = ModelRegistry.Create("densenet_bc_wide_g40", ModelOptions.Cifar(ConvKind.C3));
        Assert.Equal(3.4, c3.parameters().Sum(p => p.numel()) / 1e6, 1);
    }

    [Fact]
    public void A_user_model_of_plain_torchsharp_layers_is_counted()
    {
        // conv 3→8 3×3 pad 1 (216 params, 216·64 MACs at 8×8), BN(8) (16 params), conv 8→4 1×1 stride 2 with bias
        // (36 params, 32·16 MACs at 4×4), flatten, FC 64→5 with bias (325 params, 320 MACs).
        using var model = nn.Sequential(
            ("conv", nn.Conv2d(3, 8, 3, padding: 1, bias: false)), ("bn", nn.BatchNorm2d(8)), ("relu", nn.ReLU()),
            ("down", nn.Conv2d(8, 4, 1, stride: 2)), ("flat", nn.Flatten()), ("fc", nn.Linear(64, 5)));
        var report = ModelComplexity.Count(model, 3, 8, 8);
        Assert.Equal(216 + 16 + 36 + 325, report.Params);
        Assert.Equal(216 * 64 + 32 * 16 + 320, report.Macs);
        Assert.Equal(4 * (8 * 64 + 8 * 64 + 4 * 16), report.ActivationBytesPerImage);
        Assert.Equal(["conv", "bn", "down", "fc"], report.Layers.Select(l => l.Name));
        Assert.Equal(report.Macs, report.Layers.Sum(l => l.Macs));
        Assert.True(model.training, "counting must restore training mode");
    }

    [Fact]
    public void Layer_breakdown_adds_up_and_names_modules()
    {
        var options = ModelOptions.Cifar(ConvKind.C2sp);
        using var model = ModelRegistry.Create("resnet20", options);
        var report = ModelComplexity.Count(model, options);
        Assert.Equal(report.Params, report.Layers.Sum(l => l.Params));
        Assert.Equal(report.ActivationBytesPerImage, 4 * report.Layers.Sum(l => l.ActivationElements));
        var conv = report.Layers.Single(l => l.Name == "stages.1.blocks.0.conv1");
        Assert.Equal("conv c2sp", conv.Type);
        Assert.Equal([32L, 16, 16], conv.OutputShape);
        Assert.Equal(16L * 32 * 4 * 256, conv.Macs);
    }
}
