using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using EvenConv.Ops;
using static TorchSharp.torch;

namespace EvenConv.Distributed;

/// <summary>Collective operations on what training holds — files, tensors, modules — built on <see cref="ICommunicator"/>.</summary>
public static class Collectives
{
    /// <summary>
    /// Runs <paramref name="produce"/> on the root (rank 0) only and hands its bytes to every rank: files that live
    /// with rank 0 (a checkpoint) reach ranks on machines that cannot see them. When it throws, the root rethrows its
    /// exception and every other rank throws an <see cref="EvenConvException"/> with the same message, so all ranks
    /// stop alike instead of the others waiting for bytes that never come.
    /// </summary>
    public static byte[] BroadcastFromRoot(this ICommunicator communicator, Func<byte[]> produce)
    {
        if (communicator.Size == 1) return produce();
        byte[]? payload = null;
        Exception? failure = null;
        if (communicator.Rank == 0)
        {
            try { payload = produce(); }
            catch (Exception e) when (e is EvenConvException or IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException) { failure = e; }
        }
        var message = failure is null ? null : Encoding.UTF8.GetBytes(failure.Message);
        Span<byte> header = stackalloc byte[8];
        // The length, negative for an error message.
        BinaryPrimitives.WriteInt64LittleEndian(header, payload?.LongLength ?? -(message?.LongLength ?? 0) - 1);
        communicator.Broadcast(header);
        var length = BinaryPrimitives.ReadInt64LittleEndian(header);
        var data = communicator.Rank == 0 ? payload ?? message! : new byte[length >= 0 ? length : -length - 1];
        communicator.Broadcast(data);
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        if (length < 0) throw new EvenConvException($"rank 0: {Encoding.UTF8.GetString(data)}");
        return data;
    }

    /// <summary>Copies every parameter and buffer of <paramref name="module"/> from the root to the other ranks (the
    /// start of a data-parallel run: all ranks begin from rank 0's weights and batch-norm statistics).</summary>
    public static void BroadcastFromRoot(this ICommunicator communicator, nn.Module module) =>
        communicator.BroadcastFromRoot(module.state_dict().Values);

    /// <summary>Copies each tensor (dense, on the CPU) of the root into the other ranks' tensors, in place.</summary>
    public static void BroadcastFromRoot(this ICommunicator communicator, IEnumerable<Tensor> tensors)
    {
        if (communicator.Size == 1) return;
        foreach (var t in tensors) communicator.Broadcast(Bytes(t));
    }

    /// <summary>The memory of a dense CPU tensor (contiguous, or channels_last), in storage order.</summary>
    internal static unsafe Span<byte> Bytes(Tensor t)
    {
        var size = TensorMemory.ElementSize(t.dtype);
        if (t.device_type != TorchSharp.DeviceType.CPU || size == 0 || !(t.is_contiguous() || TensorMemory.IsDense(t, channelsLast: true)))
            throw new ArgumentException($"collectives take dense CPU tensors of plain types; got {t.dtype} [{string.Join(", ", t.shape)}] on {t.device_type} with strides [{string.Join(", ", t.stride())}].", nameof(t));
        return new Span<byte>(TensorMemory.Address(t), checked((int)(t.numel() * size)));
    }

    /// <summary>The memory of a dense float32 CPU tensor, in storage order.</summary>
    internal static Span<float> Floats(Tensor t) => t.dtype == ScalarType.Float32
        ? MemoryMarshal.Cast<byte, float>(Bytes(t))
        : throw new ArgumentException($"expected a float32 tensor, got {t.dtype}.", nameof(t));
}
