namespace EvenConv.Data;

/// <summary>Which mixup to apply to training batches.</summary>
public enum MixupKind
{
    /// <summary>No mixup.</summary>
    None,
    /// <summary>The authors' variant (§3.2): λ ~ Uniform(0, α) per sample; sample i is mixed with sample i+1 of the batch (cyclically).</summary>
    Uniform,
    /// <summary>Standard mixup (Zhang et al.): one λ ~ Beta(α, α) per batch, each sample mixed with a randomly permuted partner.</summary>
    Beta,
}

/// <summary>
/// Training-time augmentation. The CIFAR recipe (§3.1.3) is zero-pad 4 + random crop + horizontal flip
/// (<see cref="Cifar"/>); cutout and mixup are the extras of the Wide-DenseNet row (§3.2).
/// </summary>
public sealed record AugmentationOptions
{
    /// <summary>Pad each side by this many pixels, then crop back to the original size at a random offset (0 = off).</summary>
    public int PadCrop { get; init; }

    /// <summary>Mirror left–right with probability ½.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Side of the cutout square (0 = off); its centre is uniform over the image, so it may be clipped.</summary>
    public int Cutout { get; init; }

    /// <summary>The authors' "normalization first": padding and cutout fill with 0 in normalised space (the mean
    /// colour) instead of raw black.</summary>
    public bool NormalizeFirst { get; init; }

    /// <summary>Mixup variant.</summary>
    public MixupKind Mixup { get; init; }

    /// <summary>Mixup α (the upper bound of λ for <see cref="MixupKind.Uniform"/>, the Beta parameter otherwise).</summary>
    public double MixupAlpha { get; init; }

    /// <summary>No augmentation (evaluation).</summary>
    public static AugmentationOptions None { get; } = new();

    /// <summary>The paper's CIFAR recipe: pad 4, random crop, random horizontal flip.</summary>
    public static AugmentationOptions Cifar { get; } = new() { PadCrop = 4, HorizontalFlip = true };

    /// <summary>Checks the values and says which one is wrong.</summary>
    public void Validate()
    {
        if (PadCrop < 0) throw new ArgumentException($"pad-crop {PadCrop} must be ≥ 0.");
        if (Cutout < 0) throw new ArgumentException($"cutout {Cutout} must be ≥ 0.");
        if (Mixup != MixupKind.None && !(MixupAlpha > 0))
            throw new ArgumentException($"mixup {Mixup} needs α > 0 (got {MixupAlpha}); the authors used 0.5 for their variant, 0.2–1 is usual for Beta.");
        if (Mixup == MixupKind.Uniform && MixupAlpha > 1) throw new ArgumentException($"uniform mixup α {MixupAlpha} must be ≤ 1 (λ is drawn from U(0, α)).");
    }
}
