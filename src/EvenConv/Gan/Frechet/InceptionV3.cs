using EvenConv.Ops.Routing;
using EvenConv.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan.Frechet;

// Inception-v3 with torchvision's module layout and parameter names (torchvision/models/inception.py), so that a
// torchvision state dict converted with TorchSharp's exportsd.py loads with Module.load. Field names are the
// state-dict names, hence their spelling. Only the path to the 2048-d pool features is used; AuxLogits and fc are
// kept so that the full torchvision state dict loads strictly.

/// <summary>Convolution (no bias) → batch norm (ε = 0.001) → ReLU, torchvision's BasicConv2d.</summary>
internal sealed class BasicConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly bool pointwise;

    public BasicConv2d(long inChannels, long outChannels, (long, long) kernel, (long, long)? stride = null, (long, long)? padding = null)
        : base(nameof(BasicConv2d))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride ?? (1, 1), padding: padding ?? (0, 0), bias: false);
        bn = nn.BatchNorm2d(outChannels, eps: 0.001);
        // 1×1 layers take EvenConv's 1×1 route, which keeps clear of oneDNN's 1×1 crash on hosts that have it.
        pointwise = kernel == (1, 1) && (stride ?? (1, 1)) == (1, 1) && (padding ?? (0, 0)) == (0, 0);
        RegisterComponents();
    }

    public BasicConv2d(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0)
        : this(inChannels, outChannels, (kernel, kernel), (stride, stride), (padding, padding)) { }

    public override Tensor forward(Tensor x) => F.relu(bn.call(pointwise ? ConvRouting.Conv2d(x, conv.weight!, null) : conv.call(x)));
}

internal static class InceptionPool
{
    public static Tensor Avg3(Tensor x) => F.avg_pool2d(x, kernel_size: 3, stride: 1, padding: 1);
    public static Tensor Max3Stride2(Tensor x) => F.max_pool2d(x, kernel_size: 3, stride: 2);
}

internal sealed class InceptionA : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool;

    public InceptionA(long inChannels, long poolFeatures) : base(nameof(InceptionA))
    {
        branch1x1 = new(inChannels, 64, 1);
        branch5x5_1 = new(inChannels, 48, 1);
        branch5x5_2 = new(48, 64, 5, padding: 2);
        branch3x3dbl_1 = new(inChannels, 64, 1);
        branch3x3dbl_2 = new(64, 96, 3, padding: 1);
        branch3x3dbl_3 = new(96, 96, 3, padding: 1);
        branch_pool = new(inChannels, poolFeatures, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => cat([
        branch1x1.call(x),
        branch5x5_2.call(branch5x5_1.call(x)),
        branch3x3dbl_3.call(branch3x3dbl_2.call(branch3x3dbl_1.call(x))),
        branch_pool.call(InceptionPool.Avg3(x))], 1);
}

internal sealed class InceptionB : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;

    public InceptionB(long inChannels) : base(nameof(InceptionB))
    {
        branch3x3 = new(inChannels, 384, 3, stride: 2);
        branch3x3dbl_1 = new(inChannels, 64, 1);
        branch3x3dbl_2 = new(64, 96, 3, padding: 1);
        branch3x3dbl_3 = new(96, 96, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => cat([
        branch3x3.call(x),
        branch3x3dbl_3.call(branch3x3dbl_2.call(branch3x3dbl_1.call(x))),
        InceptionPool.Max3Stride2(x)], 1);
}

internal sealed class InceptionC : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch1x1, branch7x7_1, branch7x7_2, branch7x7_3,
        branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool;

    public InceptionC(long inChannels, long c7) : base(nameof(InceptionC))
    {
        branch1x1 = new(inChannels, 192, 1);
        branch7x7_1 = new(inChannels, c7, 1);
        branch7x7_2 = new(c7, c7, (1, 7), padding: (0, 3));
        branch7x7_3 = new(c7, 192, (7, 1), padding: (3, 0));
        branch7x7dbl_1 = new(inChannels, c7, 1);
        branch7x7dbl_2 = new(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_3 = new(c7, c7, (1, 7), padding: (0, 3));
        branch7x7dbl_4 = new(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_5 = new(c7, 192, (1, 7), padding: (0, 3));
        branch_pool = new(inChannels, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => cat([
        branch1x1.call(x),
        branch7x7_3.call(branch7x7_2.call(branch7x7_1.call(x))),
        branch7x7dbl_5.call(branch7x7dbl_4.call(branch7x7dbl_3.call(branch7x7dbl_2.call(branch7x7dbl_1.call(x))))),
        branch_pool.call(InceptionPool.Avg3(x))], 1);
}

internal sealed class InceptionD : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;

    public InceptionD(long inChannels) : base(nameof(InceptionD))
    {
        branch3x3_1 = new(inChannels, 192, 1);
        branch3x3_2 = new(192, 320, 3, stride: 2);
        branch7x7x3_1 = new(inChannels, 192, 1);
        branch7x7x3_2 = new(192, 192, (1, 7), padding: (0, 3));
        branch7x7x3_3 = new(192, 192, (7, 1), padding: (3, 0));
        branch7x7x3_4 = new(192, 192, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => cat([
        branch3x3_2.call(branch3x3_1.call(x)),
        branch7x7x3_4.call(branch7x7x3_3.call(branch7x7x3_2.call(branch7x7x3_1.call(x)))),
        InceptionPool.Max3Stride2(x)], 1);
}

internal sealed class InceptionE : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b,
        branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool;

    public InceptionE(long inChannels) : base(nameof(InceptionE))
    {
        branch1x1 = new(inChannels, 320, 1);
        branch3x3_1 = new(inChannels, 384, 1);
        branch3x3_2a = new(384, 384, (1, 3), padding: (0, 1));
        branch3x3_2b = new(384, 384, (3, 1), padding: (1, 0));
        branch3x3dbl_1 = new(inChannels, 448, 1);
        branch3x3dbl_2 = new(448, 384, 3, padding: 1);
        branch3x3dbl_3a = new(384, 384, (1, 3), padding: (0, 1));
        branch3x3dbl_3b = new(384, 384, (3, 1), padding: (1, 0));
        branch_pool = new(inChannels, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var b3 = branch3x3_1.call(x);
        var b3dbl = branch3x3dbl_2.call(branch3x3dbl_1.call(x));
        return cat([
            branch1x1.call(x),
            cat([branch3x3_2a.call(b3), branch3x3_2b.call(b3)], 1),
            cat([branch3x3dbl_3a.call(b3dbl), branch3x3dbl_3b.call(b3dbl)], 1),
            branch_pool.call(InceptionPool.Avg3(x))], 1);
    }
}

internal sealed class InceptionAux : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d conv0, conv1;
    private readonly Linear fc;

    public InceptionAux(long inChannels, long classes) : base(nameof(InceptionAux))
    {
        conv0 = new(inChannels, 128, 1);
        conv1 = new(128, 768, 5);
        fc = nn.Linear(768, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = conv1.call(conv0.call(F.avg_pool2d(x, kernel_size: 5, stride: 3)));
        return fc.call(F.adaptive_avg_pool2d(x, 1).flatten(1));
    }
}

/// <summary>
/// Inception-v3 (Szegedy et al., 2016) with torchvision's layout and state-dict names (1000 ImageNet classes, with
/// the auxiliary classifier), for FID features. <see cref="forward"/> returns the 2048-d global-average-pooled
/// features of 299×299 inputs scaled to [−1, 1] — the range torchvision's ImageNet weights see after their own
/// <c>transform_input</c>.
/// </summary>
public sealed class InceptionV3 : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3;
    private readonly InceptionA Mixed_5b, Mixed_5c, Mixed_5d;
    private readonly InceptionB Mixed_6a;
    private readonly InceptionC Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e;
    private readonly InceptionAux AuxLogits;
    private readonly InceptionD Mixed_7a;
    private readonly InceptionE Mixed_7b, Mixed_7c;
    private readonly Linear fc;

    /// <summary>Length of the pool feature vector.</summary>
    public const int FeatureDimension = 2048;

    public InceptionV3() : base(nameof(InceptionV3))
    {
        Conv2d_1a_3x3 = new(3, 32, 3, stride: 2);
        Conv2d_2a_3x3 = new(32, 32, 3);
        Conv2d_2b_3x3 = new(32, 64, 3, padding: 1);
        Conv2d_3b_1x1 = new(64, 80, 1);
        Conv2d_4a_3x3 = new(80, 192, 3);
        Mixed_5b = new(192, 32);
        Mixed_5c = new(256, 64);
        Mixed_5d = new(288, 64);
        Mixed_6a = new(288);
        Mixed_6b = new(768, 128);
        Mixed_6c = new(768, 160);
        Mixed_6d = new(768, 160);
        Mixed_6e = new(768, 192);
        AuxLogits = new(768, 1000);
        Mixed_7a = new(768);
        Mixed_7b = new(1280);
        Mixed_7c = new(2048);
        fc = nn.Linear(2048, 1000);
        RegisterComponents();
    }

    /// <summary>Pool features (N, 2048) of images (N, 3, 299, 299) in [−1, 1].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = Conv2d_2b_3x3.call(Conv2d_2a_3x3.call(Conv2d_1a_3x3.call(x)));
        x = InceptionPool.Max3Stride2(x);
        x = Conv2d_4a_3x3.call(Conv2d_3b_1x1.call(x));
        x = InceptionPool.Max3Stride2(x);
        x = Mixed_5d.call(Mixed_5c.call(Mixed_5b.call(x)));
        x = Mixed_6e.call(Mixed_6d.call(Mixed_6c.call(Mixed_6b.call(Mixed_6a.call(x)))));
        x = Mixed_7c.call(Mixed_7b.call(Mixed_7a.call(x)));
        return F.adaptive_avg_pool2d(x, 1).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>ImageNet class logits, for checking converted weights (a correct conversion classifies photos sensibly).</summary>
    public Tensor Classify(Tensor x) => fc.call(forward(x));
}

/// <summary>
/// FID features: <see cref="InceptionV3"/> pool features with weights from a file in TorchSharp's format (torchvision's
/// <c>inception_v3</c> weights converted with TorchSharp's <c>exportsd.py</c>; docs/gan.md). Images are resized
/// bilinearly to 299×299 and grey images repeated to three channels. The distance is labelled "FID".
/// </summary>
public sealed class InceptionFeatures : IFeatureExtractor
{
    private readonly InceptionV3 _net;

    /// <summary>Loads the weights; the file must hold exactly torchvision's Inception-v3 state dict.</summary>
    public InceptionFeatures(string weightsPath)
    {
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"No Inception-v3 weights at {weightsPath}. Convert torchvision's inception_v3 weights with TorchSharp's exportsd.py (docs/gan.md, \"FID with Inception-v3\").", weightsPath);
        _net = new InceptionV3();
        try { ModuleState.Load(_net, weightsPath); }
        catch (Exception e) when (e is EvenConvException or IOException)
        {
            _net.Dispose();
            throw new EvenConvException($"{weightsPath} does not hold torchvision Inception-v3 weights in TorchSharp format ({e.Message}). Convert them with exportsd.py as docs/gan.md shows.", e);
        }
        _net.eval();
        using var stream = File.OpenRead(weightsPath);
        CacheKey = "inception-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream))[..12];
    }

    public string MetricName => "FID";
    public string CacheKey { get; }
    public int FeatureDimension => InceptionV3.FeatureDimension;

    public Tensor Features(Tensor images)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var x = images.shape[1] == 1 ? images.expand(-1, 3, -1, -1) : images;
        x = F.interpolate(x.contiguous(), size: [299, 299], mode: InterpolationMode.Bilinear, align_corners: false);
        return _net.call(x).MoveToOuterDisposeScope();
    }

    public void Dispose() => _net.Dispose();
}
