using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// Raw access to the memory of dense CPU tensors, for the few kernels libtorch has no fast op for. TorchSharp 0.107
/// has no public data pointer, so this calls the same native export its own <c>Storage</c> uses.
/// </summary>
internal static class TensorMemory
{
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSStorage_data_ptr(IntPtr tensor);

    /// <summary>Address of element [0, 0, …] of a CPU tensor.</summary>
    public static unsafe byte* Address(Tensor t) =>
        (byte*)THSStorage_data_ptr(t.Handle) + t.storage_offset() * ElementSize(t.dtype);

    /// <summary>Bytes per element of the dtypes the kernels move (they only copy and zero, so any plain type works);
    /// 0 for types they leave to libtorch.</summary>
    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 => 1,
        _ => 0,
    };

    /// <summary>True for a CPU tensor whose memory is plain NCHW (<paramref name="channelsLast"/> false) or NHWC. Strides
    /// of size-1 dimensions do not matter (libtorch leaves them as they fall), so a 1×1 map is dense both ways.</summary>
    public static bool IsDense(Tensor t, bool channelsLast)
    {
        if (t.device_type != TorchSharp.DeviceType.CPU || t.dim() != 4 || ElementSize(t.dtype) == 0) return false;
        long c = t.shape[1], h = t.shape[2], w = t.shape[3];
        long[] expected = channelsLast ? [c * h * w, 1, w * c, c] : [c * h * w, h * w, w, 1];
        for (var d = 0; d < 4; d++)
            if (t.shape[d] > 1 && t.stride(d) != expected[d]) return false;
        return true;
    }
}
