namespace EvenConv.Data;

/// <summary>
/// Per-channel mean and standard deviation on the 0–255 scale; a pixel becomes (p − mean) / std. The paper's
/// constants are used for CIFAR (§3.1.3); Fashion-MNIST's were measured over its 60 000 training images; any other
/// data set gets statistics computed from its training images.
/// </summary>
public sealed record ChannelNormalization(float[] Mean, float[] Std)
{
    /// <summary>CIFAR-10, from the authors' cifar_preprocess.py.</summary>
    public static ChannelNormalization Cifar10 { get; } = new([125.30694f, 122.95031f, 113.86539f], [62.993233f, 62.08874f, 66.70485f]);

    /// <summary>CIFAR-100, from the authors' cifar_preprocess.py.</summary>
    public static ChannelNormalization Cifar100 { get; } = new([129.30428f, 124.07023f, 112.43411f], [68.17024f, 65.391785f, 70.4184f]);

    /// <summary>Fashion-MNIST: mean and population std over all 47 040 000 training pixels.</summary>
    public static ChannelNormalization FashionMnist { get; } = new([72.94035f], [90.02118f]);

    /// <summary>MNIST: the customary 0.1307 / 0.3081 on the 0–1 scale.</summary>
    public static ChannelNormalization Mnist { get; } = new([0.1307f * 255], [0.3081f * 255]);

    /// <summary>The constants for a known training set (by its name's prefix), else statistics computed from it.</summary>
    public static ChannelNormalization For(IImageDataset train)
    {
        var known = train.Name.Split('/')[0] switch
        {
            "cifar10" => Cifar10,
            "cifar100" => Cifar100,
            "fashion-mnist" => FashionMnist,
            "mnist" => Mnist,
            _ => null,
        };
        return known is not null && known.Mean.Length == train.Channels ? known : Compute(train);
    }

    /// <summary>Mean and population std per channel over up to <paramref name="maxImages"/> evenly spaced images.</summary>
    public static ChannelNormalization Compute(IImageDataset data, int maxImages = 10_000)
    {
        var plane = data.Height * data.Width;
        var sum = new double[data.Channels];
        var sumSq = new double[data.Channels];
        var image = new byte[data.Channels * plane];
        var used = Math.Min(maxImages, data.Count);
        for (var k = 0; k < used; k++)
        {
            data.ReadImage((int)((long)k * data.Count / used), image);
            for (var c = 0; c < data.Channels; c++)
                foreach (var p in image.AsSpan(c * plane, plane)) { sum[c] += p; sumSq[c] += p * p; }
        }
        var n = (double)used * plane;
        var mean = sum.Select(s => (float)(s / n)).ToArray();
        var std = sumSq.Select((s, c) => (float)Math.Max(Math.Sqrt(Math.Max(s / n - mean[c] * (double)mean[c], 0)), 1e-3)).ToArray();
        return new ChannelNormalization(mean, std);
    }
}
