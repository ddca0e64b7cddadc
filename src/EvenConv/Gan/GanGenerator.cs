using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan;

/// <summary>
/// Generator of Decision 7: z → linear → 4×4×C → Stages × [nearest ×2 upsample → Ck → BN → ReLU] → Ck → tanh.
/// Upsampling is nearest-neighbour followed by the kernel under test (no transposed convolution), so every spatial
/// operation that can shift the image is the convolution being compared. Output in [−1, 1], channels_last.
/// </summary>
public sealed class GanGenerator : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc;
    private readonly ModuleList<ConvLayer> convs;
    private readonly ModuleList<BatchNorm2d> bns;
    private readonly ConvLayer out_conv;
    private readonly int _width;

    public GanGenerator(GanArchitecture architecture) : base("GanGenerator")
    {
        Architecture = architecture.Validate();
        _width = architecture.GeneratorWidth;
        fc = nn.Linear(architecture.LatentDim, 16L * _width);
        convs = new ModuleList<ConvLayer>();
        bns = new ModuleList<BatchNorm2d>();
        var channels = _width;
        for (var b = 0; b < architecture.Stages; b++)
        {
            var next = architecture.GeneratorChannels(b);
            convs.Add(Conv.Create(new ConvSpec(channels, next, architecture.Conv)));
            bns.Add(nn.BatchNorm2d(next));
            channels = next;
        }
        out_conv = Conv.Create(new ConvSpec(channels, architecture.ImageChannels, architecture.Conv, Bias: true), ConvInit.PyTorchDefault);
        RegisterComponents();
    }

    /// <summary>The architecture this generator was built from.</summary>
    public GanArchitecture Architecture { get; }

    /// <summary>Maps noise (N, LatentDim) to images (N, ImageChannels, Resolution, Resolution) in [−1, 1].</summary>
    public override Tensor forward(Tensor z)
    {
        if (z.dim() != 2 || z.shape[1] != Architecture.LatentDim)
            throw new ArgumentException($"GanGenerator: expected noise of shape (N, {Architecture.LatentDim}), got [{string.Join(", ", z.shape)}].", nameof(z));
        using var scope = NewDisposeScope();
        var x = TensorLayout.To(F.relu(fc.call(z)).view(z.shape[0], _width, 4, 4), TensorLayout.Default);
        for (var b = 0; b < convs.Count; b++)
        {
            x = F.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
            x = F.relu(bns[b].call(convs[b].call(x)));
        }
        return tanh(out_conv.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Standard-normal noise for <paramref name="count"/> images from <paramref name="generator"/>.</summary>
    public Tensor Noise(long count, torch.Generator generator) => randn(count, Architecture.LatentDim, generator: generator);
}
