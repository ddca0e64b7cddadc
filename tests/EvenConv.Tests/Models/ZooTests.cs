using EvenConv.IO;
using System.Security.Cryptography;
using System.Text;
using EvenConv.Layers;
using EvenConv.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Models;

/// <summary>Every registered model with every kernel kind it accepts, timm style, on a tiny input.</summary>
public class ZooTests
{
    private const int Classes = 7, Batch = 2;


    /// <summary>Every registered model, with its default kind.</summary>
    public static TheoryData<string> RegisteredModels()
    {
        var data = new TheoryData<string>();
        foreach (var info in ModelRegistry.List()) data.Add(info.Name);
        return data;
    }

    /// <summary>
    /// Every builder path in its smallest configuration, for the kind sweep: what a kernel kind changes is the spatial
    /// convolution inside the blocks (padding groups, pooled stride, depthwise even kernels), and the registered models are
    /// deeper or wider stacks of these same blocks — the whole registry × six kinds would take minutes on two cores.
    /// </summary>
    internal static readonly Dictionary<string, (Func<ModelOptions, nn.Module<Tensor, Tensor>> Build, bool ImageNetStem)> BuilderPaths = new()
    {
        ["resnet_cifar_basic"] = (o => ResNet.Cifar(1, o), false),
        ["resnet_cifar_bottleneck"] = (o => ResNet.Cifar(1, o, ResNetBlock.Bottleneck), false),
        ["resnet_cifar_separable"] = (o => ResNet.Cifar(1, o, separable: true), false),
        ["resnet_imagenet_pooled_bottleneck"] = (o => ResNet.Create(ResNet.ResNet50HalfConfig() with
        {
            Stages = [new StageConfig(1, 16, 1), new StageConfig(2, 32, 2), new StageConfig(1, 48, 2), new StageConfig(1, 64, 2)],
            Stem = new StemConfig(8, 7, 2, MaxPool: true),
        }, o), true),
        ["densenet_cifar"] = (o => DenseNet.Cifar(2, o, growth: 6), false),
        ["densenet_bc"] = (o => DenseNet.Create(DenseNet.CifarBcConfig("tiny_bc", 6, 2, 3), o), false),
    };

    public static TheoryData<string, string> BuilderPathsAndKinds()
    {
        var data = new TheoryData<string, string>();
        foreach (var path in BuilderPaths.Keys)
            foreach (var kind in ConvKind.PaperKinds)
                data.Add(path, kind.ToString());
        return data;
    }

    /// <summary>Small, non-square and with a channel count other than 3, so that no model relies on CIFAR or ImageNet
    /// shapes; ImageNet models get enough pixels for their five halvings.</summary>
    internal static ModelOptions TinyOptions(int designedInputSize, ConvKind kind) =>
        designedInputSize >= 224 ? new ModelOptions(kind, 2, Classes, 32, 40) : new ModelOptions(kind, 1, Classes, 8, 12);

    [Theory]
    [MemberData(nameof(RegisteredModels))]
    public void Registered_model_trains_and_round_trips_its_state(string name)
    {
        var info = ModelRegistry.Get(name);
        var options = TinyOptions(info.DefaultInputSize, info.DefaultConv);
        using var model = ModelRegistry.Create(name, options);
        CheckPinnedKeys(name, model);
        Check($"{name} {info.DefaultConv}", model, options);
    }

    [Theory]
    [MemberData(nameof(BuilderPathsAndKinds))]
    public void Every_builder_path_works_with_every_kind(string path, string conv)
    {
        var (build, imageNetStem) = BuilderPaths[path];
        var options = TinyOptions(imageNetStem ? 224 : 32, ConvKind.Parse(conv));
        using var model = build(options);
        Check($"{path} {conv}", model, options);
    }

    /// <summary>Output shape, finite output, a finite gradient for every parameter, and an exact state round trip.</summary>
    private static void Check(string label, nn.Module<Tensor, Tensor> model, ModelOptions options)
    {
        manual_seed(1);
        using var scope = NewDisposeScope();
        var x = randn(Batch, options.InChannels, options.InputHeight, options.InputWidth);

        model.train();
        var y = model.call(x);
        Assert.Equal([Batch, Classes], y.shape);
        Assert.True(y.isfinite().all().item<bool>(), $"{label}: non-finite output");
        y.square().mean().backward();
        foreach (var (pname, p) in model.named_parameters())
        {
            Assert.True(p.grad is not null, $"{label}: {pname} got no gradient");
            Assert.True(p.grad.isfinite().all().item<bool>(), $"{label}: {pname} has a non-finite gradient");
        }

        model.eval();
        using var _ = no_grad();
        var before = model.call(x);
        using var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true)) ModuleState.Save(model, writer);
        // Explicit scalars, kept alive across the native calls (an implicit double → Scalar can be finalised mid-call).
        using var half = 0.5.ToScalar();
        using var two = 2.0.ToScalar();
        foreach (var p in model.parameters()) p.add_(half);
        foreach (var b in model.buffers().Where(b => b.is_floating_point())) b.mul_(two).add_(half);
        Assert.False(model.call(x).allclose(before), $"{label}: perturbing the weights did not change the output");
        saved.Position = 0;
        using (var reader = new BinaryReader(saved, System.Text.Encoding.UTF8, leaveOpen: true)) ModuleState.Load(model, reader);
        Assert.True(model.call(x).allclose(before, rtol: 0, atol: 0), $"{label}: the reloaded model computes something else");
    }

    [Fact]
    public void Every_model_has_a_description_and_default_kind_it_accepts()
    {
        var models = ModelRegistry.List();
        Assert.True(models.Count >= 25, $"only {models.Count} models registered");
        foreach (var m in models)
        {
            Assert.False(string.IsNullOrWhiteSpace(m.Description), m.Name);
            Assert.True(m.Accepts(m.DefaultConv), m.Name);
        }
    }

    [Fact]
    public void Fixed_kernel_models_reject_other_kinds_with_the_fix()
    {
        var e = Assert.Throws<EvenConvException>(() => ModelRegistry.Create("mobilenetv2_1.4", new ModelOptions(ConvKind.C2sp)));
        Assert.Contains("only conv kind c3", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// State-dict names and shapes are part of the API (saved weights depend on them): each model's list is pinned in
    /// StateDictKeys.txt as its length and a hash, taken at the default kind and the tiny test shapes. After a deliberate
    /// change, run the zoo tests with EVENCONV_UPDATE_PINNED=1 and review the diff of that file.
    /// </summary>
    private static void CheckPinnedKeys(string name, nn.Module model)
    {
        var entries = model.state_dict().Select(kv => $"{kv.Key}:{string.Join('x', kv.Value.shape)}").ToList();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', entries))))[..16];
        var line = $"{name} {entries.Count} {hash}";
        var path = Path.Combine(SourceDirectory(), "StateDictKeys.txt");
        var lines = File.ReadAllLines(path).ToList();
        var pinned = lines.FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        if (Environment.GetEnvironmentVariable("EVENCONV_UPDATE_PINNED") == "1")
        {
            lines.RemoveAll(l => l.StartsWith(name + " ", StringComparison.Ordinal));
            lines.Add(line);
            File.WriteAllLines(path, lines.Order(StringComparer.Ordinal));
            return;
        }
        Assert.Equal(pinned, line);
    }

    [Fact]
    public void Resnet20_state_dict_reads_like_pytorch()
    {
        using var model = ModelRegistry.Create("resnet20", new ModelOptions(ConvKind.C3));
        var keys = model.state_dict().Keys.ToList();
        string[] expected =
        [
            "stem.conv.weight",
            "stages.0.blocks.0.bn1.weight", "stages.0.blocks.0.bn1.bias", "stages.0.blocks.0.bn1.running_mean",
            "stages.0.blocks.0.bn1.running_var", "stages.0.blocks.0.bn1.num_batches_tracked", "stages.0.blocks.0.conv1.weight",
            "stages.1.blocks.0.shortcut.weight", "stages.2.blocks.2.conv2.weight",
            "head.bn.weight", "head.bn.running_var", "head.fc.weight",
        ];
        foreach (var key in expected) Assert.Contains(key, keys);
        Assert.All(keys, k => Assert.Matches(@"^(stem|stages\.\d+\.blocks\.\d+|head)\.[a-z_0-9.]+$", k));
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
