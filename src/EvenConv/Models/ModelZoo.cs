using EvenConv.Layers;

namespace EvenConv.Models;

/// <summary>The built-in models: one line each, registered when <see cref="ModelRegistry"/> is first used.</summary>
internal static class ModelZoo
{
    private const int Cifar = 32, ImageNet = 224;

    public static void RegisterAll()
    {
        foreach (var depth in (int[])[20, 56, 110])
        {
            var n = ResNet.CifarBlocksForDepth(depth);
            Add($"resnet{depth}", $"Pre-activation ResNet-{depth} for CIFAR (6n+2, n={n}, basic blocks, widths 16/32/64; paper §3.1.1)",
                "resnet", o => ResNet.Cifar(n, o));
        }
    }

    private static void Add(string name, string description, string family, Func<ModelOptions, TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>> factory,
        IReadOnlyList<ConvKind>? kinds = null, ConvKind? defaultConv = null, int inputSize = Cifar, int numClasses = 10) =>
        ModelRegistry.Register(new ModelInfo(name, description, family, kinds, defaultConv ?? ConvKind.C3, inputSize, numClasses), factory);
}
