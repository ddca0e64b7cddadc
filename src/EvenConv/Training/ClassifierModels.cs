using System.Globalization;
using System.Text.RegularExpressions;
using EvenConv.Data;
using EvenConv.Models;
using static TorchSharp.torch;

namespace EvenConv.Training;

/// <summary>The models a training run can build: any registered model, shaped to the data set (channels, classes,
/// image size), plus every pre-activation ResNet-CIFAR depth 6n+2 ("resnet38", "resnet74", …) that the kernel-size
/// sweep (§3.1) needs beyond the registered ones.</summary>
public static partial class ClassifierModels
{
    /// <summary>A <see cref="ModelFactory"/> for <see cref="Trainer"/>.</summary>
    public static nn.Module<Tensor, Tensor> Create(TrainingConfig config, IImageDataset train)
    {
        var options = new ModelOptions(config.ConvKind, train.Channels, train.ClassNames.Count, train.Height, train.Width);
        if (!ModelRegistry.Contains(config.Model) && ResNetCifarBlocks(config.Model) is { } n) return ResNet.Cifar(n, options);
        return ModelRegistry.Create(config.Model, options);
    }

    /// <summary>The model name of ResNet-CIFAR with <paramref name="n"/> basic blocks per stage (depth 6n+2).</summary>
    public static string ResNetCifarName(int n) => $"resnet{ResNet.CifarDepth(n)}";

    /// <summary>n for "resnet{6n+2}", else null.</summary>
    public static int? ResNetCifarBlocks(string name)
    {
        var match = ResNetName().Match(name);
        if (!match.Success) return null;
        var depth = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return depth >= 8 && (depth - 2) % 6 == 0 ? (depth - 2) / 6 : null;
    }

    [GeneratedRegex("^resnet([0-9]+)$")]
    private static partial Regex ResNetName();
}
