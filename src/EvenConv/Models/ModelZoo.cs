using EvenConv.Layers;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>The built-in models, one line each, registered when <see cref="ModelRegistry"/> is first used. Every other
/// depth or width of a family is a configuration of its public builder (<see cref="ResNet.Cifar"/>,
/// <see cref="DenseNet.Cifar"/>, <see cref="MobileNetV2.ImageNetConfig"/>, ...).</summary>
internal static class ModelZoo
{
    private const int Cifar = 32, ImageNet = 224;
    private static readonly ConvKind[] OnlyC3 = [ConvKind.C3];

    public static void RegisterAll()
    {
        // CIFAR, paper §3.1 (kernel-size sweep) and §3.5 (C3/C2sp basic blocks of the overhead comparison).
        foreach (var depth in (int[])[20, 56, 110])
        {
            var n = ResNet.CifarBlocksForDepth(depth);
            Add($"resnet{depth}", $"Pre-activation ResNet-{depth} for CIFAR: 6n+2 with n={n}, basic blocks, widths 16/32/64 (§3.1.1)", "resnet", o => ResNet.Cifar(n, o));
        }
        Add("resnet164", "Pre-activation ResNet-164 for CIFAR: 9n+2 with n=18, bottleneck blocks, outputs 64/128/256", "resnet",
            o => ResNet.Cifar(18, o, ResNetBlock.Bottleneck));
        Add("densenet_cifar_40", "DenseNet-40 for CIFAR without bottleneck or compression: g=12, N=12 layers per block (§3.1.1)", "densenet",
            o => DenseNet.Cifar(12, o), numClasses: 100);
        Add("densenet_cifar_94", "DenseNet-94 for CIFAR without bottleneck or compression: g=12, N=30 (the authors' 'C100 L94 K12' run)", "densenet",
            o => DenseNet.Cifar(30, o), numClasses: 100);
        Add("densenet_bc_100", "DenseNet-BC-100 for CIFAR: g=12, 16 BC layers per block, compression 0.5", "densenet",
            o => DenseNet.Create(DenseNet.CifarBcConfig("densenet_bc_100", 12, 16, 16, 16), o));
        Add("densenet_bc_wide", "Wide-DenseNet-BC for CIFAR-10: g=48, blocks 9/8/8 (the authors' C2sp run, 3.2M params; §3.2)", "densenet",
            o => DenseNet.Create(DenseNet.CifarBcConfig("densenet_bc_wide", 48, 9, 8, 8), o), defaultConv: ConvKind.C2sp);
        Add("densenet_bc_wide_g40", "Wide-DenseNet-BC for CIFAR-10: g=40, blocks 9/9/9 (a configuration matching the C3 row's 3.4M params; §3.2)", "densenet",
            o => DenseNet.Create(DenseNet.CifarBcConfig("densenet_bc_wide_g40", 40, 9, 9, 9), o));

        // Compact CIFAR blocks of the training-overhead comparison (§3.5, Decision 9), at 20, 56 and 110 layers.
        foreach (var depth in (int[])[20, 56, 110])
        {
            var n = ResNet.CifarBlocksForDepth(depth);
            Add($"resnet{depth}_dws", $"Depthwise-separable pre-activation ResNet-{depth} for CIFAR: each k×k conv is depthwise k×k + 1×1 (§3.5)", "resnet",
                o => ResNet.Cifar(n, o, separable: true));
            var b = (depth - 2) / 9;
            Add($"mobilenetv2_cifar{depth}", $"MobileNetV2 inverted bottlenecks for CIFAR, {depth} layers: {b} blocks per stage, expansion 6, widths 16/32/64 (§3.5)",
                "mobilenetv2", o => MobileNetV2.Create(MobileNetV2.CifarConfig(b), o), OnlyC3);
            Add($"shift_csc{depth}", $"Shift-CSC network for CIFAR, {depth} layers: 1×1 → 9-direction shift → 1×1 blocks, widths 18/36/72 (§3.5)",
                "shiftnet", o => ShiftNet.Cifar(n, o), OnlyC3);
        }

        // ImageNet, paper §3.3.
        Add("resnet50", "Pre-activation ResNet-50 for ImageNet: 7×7 stem, [3,4,6,3] bottlenecks to 2048, ReLU, pooled stride 2 (§3.3 items 1–2)", "resnet",
            o => ResNet.Create(ResNet.ResNet50Config(), o), inputSize: ImageNet, numClasses: 1000);
        Add("resnet50_0.5x", "ResNet-50 0.5x for ImageNet: outputs 128…1024 (stem 64), ReLU6, pooled stride 2 (§3.3 item 3)", "resnet",
            o => ResNet.Create(ResNet.ResNet50HalfConfig(), o), inputSize: ImageNet, numClasses: 1000);
        Add("resnet50_c2sp_optim", "ResNet-50 0.5x 'C2sp optim': 3×3/2 stem to 48, five stages [1,2,4,8,4] to 768, 1×1 to 1536, dropout 0.2 (§3.3 item 4)", "resnet",
            o => ResNet.Create(ResNet.ResNet50C2spOptimConfig(), o), defaultConv: ConvKind.C2sp, inputSize: ImageNet, numClasses: 1000);
        Add("densenet121", "DenseNet-121 for ImageNet: 7×7 stem, BC blocks [6,12,24,16], g=32, compression 0.5 (§3.3 item 5)", "densenet",
            o => DenseNet.Create(DenseNet.DenseNet121Config(), o), inputSize: ImageNet, numClasses: 1000);
        foreach (var width in (double[])[1.0, 1.4])
            Add(FormattableString.Invariant($"mobilenetv2_{width:0.0}"), FormattableString.Invariant($"MobileNetV2 {width:0.0}x for ImageNet: depthwise 3×3, ReLU6, dropout 0.2 (§3.3 item 6)"), "mobilenetv2",
                o => MobileNetV2.Create(MobileNetV2.ImageNetConfig(width), o), OnlyC3, inputSize: ImageNet, numClasses: 1000);
        foreach (var width in (double[])[1.0, 2.0])
            Add(FormattableString.Invariant($"shufflenetv2_{width:0.0}"), FormattableString.Invariant($"ShuffleNetV2 {width:0.0}x for ImageNet: depthwise 3×3, ReLU6, dropout 0.2 (§3.3 item 7)"), "shufflenetv2",
                o => ShuffleNetV2.Create(ShuffleNetV2.ImageNetConfig(width), o), OnlyC3, inputSize: ImageNet, numClasses: 1000);
    }

    private static void Add(string name, string description, string family, Func<ModelOptions, nn.Module<Tensor, Tensor>> factory,
        IReadOnlyList<ConvKind>? kinds = null, ConvKind? defaultConv = null, int inputSize = Cifar, int numClasses = 10) =>
        ModelRegistry.Register(new ModelInfo(name, description, family, kinds, defaultConv ?? ConvKind.C3, inputSize, numClasses), factory);
}
