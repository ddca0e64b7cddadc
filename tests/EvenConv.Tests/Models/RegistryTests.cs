using EvenConv.Layers;
using EvenConv.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Models;

public class RegistryTests
{
    [Fact]
    public void The_shared_cifar_resnets_are_registered()
    {
        foreach (var name in (string[])["resnet20", "resnet56", "resnet110"])
            Assert.Equal(name, ModelRegistry.Get(name).Name);
    }

    [Fact]
    public void Glob_lists_matching_names_sorted()
    {
        var names = ModelRegistry.List("resnet1?0").Select(i => i.Name).ToList();
        Assert.Equal(["resnet110"], names);
        Assert.Contains("resnet110", ModelRegistry.List("RESNET1*").Select(i => i.Name));
        Assert.Empty(ModelRegistry.List("no_such_*"));
    }

    [Fact]
    public void Unknown_name_lists_close_matches()
    {
        var e = Assert.Throws<EvenConvException>(() => ModelRegistry.Create("resnet5", new ModelOptions(ConvKind.C3)));
        Assert.Contains("resnet56", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_names_are_rejected()
    {
        var info = ModelRegistry.Get("resnet20");
        var e = Assert.Throws<ArgumentException>(() => ModelRegistry.Register(info with { Name = "ResNet20" }, o => ResNet.Cifar(3, o)));
        Assert.Contains("already registered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Edit_distance_matches_hand_computed_cases()
    {
        Assert.Equal(3, Suggestions.EditDistance("kitten", "sitting"));
        Assert.Equal(0, Suggestions.EditDistance("", ""));
        Assert.Equal(4, Suggestions.EditDistance("", "abcd"));
        Assert.Equal(1, Suggestions.EditDistance("resnet56", "resnet5"));
    }

    [Fact]
    public void Resnet20_has_the_hand_counted_parameters_and_stable_names()
    {
        using var model = ModelRegistry.Create("resnet20", new ModelOptions(ConvKind.C3));
        // Stem 432 + stage 1: 3·(2·2304 + 2·32) + stage 2: 14,432 + 2·18,560 + stage 3: 57,536 + 2·73,984 + head BN 128 + FC 640 (no bias).
        Assert.Equal(272_272, model.parameters().Sum(p => p.numel()));
        var keys = model.state_dict().Keys.ToList();
        Assert.Contains("stem.conv.weight", keys);
        Assert.Contains("stages.0.blocks.0.conv1.weight", keys);
        Assert.Contains("stages.1.blocks.0.shortcut.weight", keys);
        Assert.Contains("head.fc.weight", keys);
        Assert.DoesNotContain("head.fc.bias", keys);
        using var y = model.call(randn(2, 3, 32, 32));
        Assert.Equal([2L, 10], y.shape);
    }
}
