using EvenConv.Ops;
using static TorchSharp.torch;

namespace EvenConv.Data;

/// <summary>
/// One prepared batch, still in managed arrays (made on the loader's thread); <see cref="Images"/> and
/// <see cref="Targets"/> turn it into tensors on the training thread. With mixup, sample i's target is
/// (1 − MixWeights[i])·Labels[i] + MixWeights[i]·MixLabels[i].
/// </summary>
public sealed class Batch
{
    internal Batch(int epoch, int index, int channels, int height, int width, MemoryLayout layout, float[] pixels, long[] labels, long[]? mixLabels, float[]? mixWeights)
    {
        (Epoch, Index, Channels, Height, Width, Layout) = (epoch, index, channels, height, width, layout);
        (Pixels, Labels, MixLabels, MixWeights) = (pixels, labels, mixLabels, mixWeights);
    }

    /// <summary>The 1-based epoch this batch belongs to.</summary>
    public int Epoch { get; }
    /// <summary>Its 0-based position within the epoch.</summary>
    public int Index { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>The layout <see cref="Pixels"/> is stored in and <see cref="Images"/> returns.</summary>
    public MemoryLayout Layout { get; }
    /// <summary>Normalised pixels, N·H·W·C (channels_last) or N·C·H·W.</summary>
    public float[] Pixels { get; }
    /// <summary>Class of each sample (the first of the pair under mixup).</summary>
    public long[] Labels { get; }
    /// <summary>Mixup partner classes, or null without mixup.</summary>
    public long[]? MixLabels { get; }
    /// <summary>Weights of the partner classes, or null without mixup.</summary>
    public float[]? MixWeights { get; }
    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>The images as an (N, C, H, W) float tensor in <see cref="Layout"/>.</summary>
    public Tensor Images()
    {
        if (Layout == MemoryLayout.ChannelsLast)
            return tensor(Pixels, [Count, Height, Width, Channels]).permute(0, 3, 1, 2);
        return tensor(Pixels, [Count, Channels, Height, Width]);
    }

    /// <summary>The labels as an int64 tensor.</summary>
    public Tensor Targets() => tensor(Labels);
}
