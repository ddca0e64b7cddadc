using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>Memory layouts of 4-D feature maps.</summary>
public enum MemoryLayout
{
    /// <summary>PyTorch's default contiguous (N, C, H, W).</summary>
    Nchw,
    /// <summary>NHWC in memory with NCHW indexing (PyTorch's <c>channels_last</c>); faster for convolutions on CPU.</summary>
    ChannelsLast,
}

/// <summary>
/// channels_last support. TorchSharp 0.107 has no memory-format API, but libtorch keeps a channels_last layout
/// through conv2d, batch_norm, relu, pad, cat and add once a tensor has it, so a permute-copy-permute is enough.
/// </summary>
public static class TensorLayout
{
    /// <summary>The layout models and layers use unless told otherwise. channels_last: about 1.3× faster whole-network
    /// training on CPU (README, "Performance defaults").</summary>
    public static MemoryLayout Default { get; set; } = MemoryLayout.ChannelsLast;

    /// <summary>True for a dense 4-D tensor whose channel stride is 1 and whose layout is NHWC (an expanded batch, with
    /// stride 0, is not).</summary>
    public static bool IsChannelsLast(Tensor t) =>
        t.dim() == 4 && t.shape[1] > 1 && t.stride(1) == 1 && t.stride(3) == t.shape[1] && t.stride(2) == t.shape[1] * t.shape[3] &&
        (t.shape[0] == 1 || t.stride(0) == t.shape[1] * t.shape[2] * t.shape[3]);

    /// <summary>The tensor in the given layout (a copy unless it is already in it). Non-4-D tensors are returned as they are.</summary>
    public static Tensor To(Tensor t, MemoryLayout layout)
    {
        if (t.dim() != 4) return t;
        return layout switch
        {
            MemoryLayout.ChannelsLast => IsChannelsLast(t) ? t : ToChannelsLast(t),
            _ => t.is_contiguous() ? t : t.contiguous(),
        };
    }

    /// <summary>An uninitialised (N, C, H, W) tensor in the given layout. It owns its storage (it is not a view), so
    /// it may be returned from a custom autograd function and then modified in place.</summary>
    public static Tensor Empty(long n, long c, long h, long w, ScalarType dtype, MemoryLayout layout, Device? device = null) =>
        layout == MemoryLayout.ChannelsLast
            ? empty_strided([n, c, h, w], [h * w * c, 1, w * c, c], dtype: dtype, device: device)
            : empty([n, c, h, w], dtype: dtype, device: device);

    // The intermediate handles are disposed here: left to the caller's DisposeScope, the NHWC base would keep the
    // result's memory alive after the caller disposes the result.
    private static Tensor ToChannelsLast(Tensor t)
    {
        using var nhwcView = t.permute(0, 2, 3, 1);
        using var nhwc = nhwcView.contiguous();
        return nhwc.permute(0, 3, 1, 2);
    }
}
