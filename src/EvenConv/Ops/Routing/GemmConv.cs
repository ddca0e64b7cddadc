using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Ops.Routing;

/// <summary>
/// A convolution as matrix products, without oneDNN: 1×1 kernels (groups 1, no padding) go to
/// <see cref="PointwiseConv"/>; any other kernel is unfolded (im2col, libtorch's own loop) and multiplied by the weight,
/// group by group, through libtorch's sgemm. Autograd comes from unfold (fold) and the products. It costs the unfolded
/// copy (k² times the input), so <see cref="ConvRouting"/> takes it only where oneDNN is unsafe.
/// </summary>
public static class GemmConv
{
    /// <summary><c>conv2d(input, weight, bias, stride, padding, dilation, groups)</c> with a square kernel; the output
    /// keeps the input's layout.</summary>
    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias, long stride = 1, long padding = 0, long dilation = 1, long groups = 1)
    {
        var k = weight.shape[2];
        if (k == 1 && groups == 1 && padding == 0) return PointwiseConv.Apply(input, weight, bias, (int)stride);
        using var scope = NewDisposeScope();
        var (n, h, w) = (input.shape[0], input.shape[2], input.shape[3]);
        var outH = (h + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
        var outW = (w + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
        var columns = F.unfold(input, k, dilation, padding, stride);                      // N × C·k² × L
        var perGroup = columns.view(n, groups, -1, outH * outW);                         // N × G × (C/G)·k² × L
        var kernels = weight.reshape(groups, weight.shape[0] / groups, -1);               // G × O/G × (C/G)·k²
        var y = matmul(kernels, perGroup).view(n, weight.shape[0], outH, outW);           // N × O × H' × W'
        if (bias is not null) y = y + bias.view(1, -1, 1, 1);
        return TensorLayout.To(y, TensorLayout.IsChannelsLast(input) ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw).MoveToOuterDisposeScope();
    }
}
