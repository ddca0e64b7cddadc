using EvenConv.Data;
using EvenConv.Ops;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan;

/// <summary>
/// Real images for GAN training and Fréchet statistics: batches read from an <see cref="IImageDataset"/> and brought
/// to the square training resolution, as float tensors in [−1, 1] (the generator's tanh range), channels_last.
/// Smaller images are zero-padded around the centre (Fashion-MNIST 28×28 → 32×32, black border, as the protocol
/// says); larger ones are centre-cropped to a square and area-downsampled.
/// </summary>
public sealed class GanImages
{
    private readonly IImageDataset _data;
    private readonly int _imageBytes;

    public GanImages(IImageDataset data, int resolution)
    {
        if (data.Count == 0) throw new EvenConvException($"{data.Name}: the data set has no images; point --data at a folder or data set that has some.");
        _data = data;
        Resolution = resolution;
        _imageBytes = data.Channels * data.Height * data.Width;
    }

    /// <summary>The data set read.</summary>
    public IImageDataset Data => _data;

    /// <summary>Side of the produced square images.</summary>
    public int Resolution { get; }

    /// <summary>Channels of the produced images (those of the data set).</summary>
    public int Channels => _data.Channels;

    /// <summary>Number of images.</summary>
    public int Count => _data.Count;

    /// <summary>The images at <paramref name="indices"/> as (N, C, R, R) float32 in [−1, 1].</summary>
    public Tensor Batch(ReadOnlySpan<int> indices)
    {
        var bytes = new byte[(long)indices.Length * _imageBytes];
        for (var i = 0; i < indices.Length; i++) _data.ReadImage(indices[i], bytes.AsSpan(i * _imageBytes, _imageBytes));
        using var scope = NewDisposeScope();
        var x = tensor(bytes, [indices.Length, _data.Channels, _data.Height, _data.Width]).to(float32).div_(127.5).sub_(1.0);
        return TensorLayout.To(Fit(x, Resolution), TensorLayout.Default).MoveToOuterDisposeScope();
    }

    /// <summary>Pads (with −1, i.e. black) or centre-crops and downsamples (N, C, H, W) to (N, C, R, R).</summary>
    internal static Tensor Fit(Tensor x, int resolution)
    {
        long h = x.shape[2], w = x.shape[3];
        if (h <= resolution && w <= resolution)
        {
            if (h == resolution && w == resolution) return x;
            long top = (resolution - h) / 2, left = (resolution - w) / 2;
            return F.pad(x, [left, resolution - w - left, top, resolution - h - top], value: -1.0);
        }
        var side = Math.Min(h, w);
        var square = x.narrow(2, (h - side) / 2, side).narrow(3, (w - side) / 2, side);
        return side <= resolution
            ? Fit(square, resolution)
            : F.interpolate(square, size: [resolution, resolution], mode: InterpolationMode.Area);
    }
}
