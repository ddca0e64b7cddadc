using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan;

/// <summary>
/// Discriminator of Decision 7: Stages × [Ck → LeakyReLU(0.1) → Ck → LeakyReLU(0.1) → 2×2 avg-pool] → linear, every
/// layer spectrally normalised. Returns one unbounded score per image (the hinge loss works on raw scores).
/// </summary>
public sealed class GanDiscriminator : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<SpectralNorm> convs;
    private readonly SpectralNorm fc;
    private const double Slope = 0.1;

    public GanDiscriminator(GanArchitecture architecture) : base("GanDiscriminator")
    {
        Architecture = architecture.Validate();
        convs = new ModuleList<SpectralNorm>();
        var channels = architecture.ImageChannels;
        for (var s = 0; s < architecture.Stages; s++)
        {
            var width = architecture.DiscriminatorChannels(s);
            convs.Add(SpectralNorm.Wrap(Conv.Create(new ConvSpec(channels, width, architecture.Conv, Bias: true))));
            convs.Add(SpectralNorm.Wrap(Conv.Create(new ConvSpec(width, width, architecture.Conv, Bias: true))));
            channels = width;
        }
        fc = SpectralNorm.Wrap(nn.Linear(16L * channels, 1));
        RegisterComponents();
    }

    /// <summary>The architecture this discriminator was built from.</summary>
    public GanArchitecture Architecture { get; }

    /// <summary>Scores images (N, ImageChannels, Resolution, Resolution); returns (N).</summary>
    public override Tensor forward(Tensor images)
    {
        var r = Architecture.Resolution;
        if (images.dim() != 4 || images.shape[1] != Architecture.ImageChannels || images.shape[2] != r || images.shape[3] != r)
            throw new ArgumentException($"GanDiscriminator: expected images of shape (N, {Architecture.ImageChannels}, {r}, {r}), got [{string.Join(", ", images.shape)}].", nameof(images));
        using var scope = NewDisposeScope();
        var x = images;
        for (var i = 0; i < convs.Count; i++)
        {
            x = F.leaky_relu(convs[i].call(x), Slope);
            if (i % 2 == 1) x = F.avg_pool2d(x, 2);
        }
        return fc.call(x.flatten(1)).view(-1).MoveToOuterDisposeScope();
    }
}
