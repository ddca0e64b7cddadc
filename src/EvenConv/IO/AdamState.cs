using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.IO;

/// <summary>
/// Saves and restores the per-parameter state of an <see cref="Adam"/> optimiser (step count and moment estimates)
/// so that a resumed run takes exactly the updates an uninterrupted one would. TorchSharp's own
/// <c>save_state_dict</c> fails on channels_last moments (they take the layout of their parameters); this writes
/// contiguous copies and reads back with <c>copy_</c>. Hyper-parameters are not stored: the caller rebuilds the
/// optimiser with the same settings.
/// </summary>
public static class AdamState
{
    private const string Magic = "evenconv-adam-state/1";

    /// <summary>Writes the state of every parameter, in parameter order.</summary>
    public static void Save(Adam optimizer, BinaryWriter writer)
    {
        var states = optimizer.state_dict().State;
        writer.Write(Magic);
        writer.Write(states.Count);
        foreach (var s in states.Cast<Adam.State>())
        {
            writer.Write(s.step);
            WriteTensor(writer, s.exp_avg);
            WriteTensor(writer, s.exp_avg_sq);
            WriteTensor(writer, s.max_exp_avg_sq);
        }
    }

    /// <summary>Reads state written by <see cref="Save"/> for an optimiser over the same parameters.</summary>
    /// <exception cref="InvalidDataException">The stream holds another optimiser's state.</exception>
    public static void Load(Adam optimizer, BinaryReader reader)
    {
        if (reader.ReadString() != Magic) throw new InvalidDataException("no Adam optimiser state where one was expected");
        var states = optimizer.state_dict().State;
        var count = reader.ReadInt32();
        if (count != states.Count) throw new InvalidDataException($"the file holds Adam state for {count} parameters, the optimiser has {states.Count}");
        foreach (var s in states.Cast<Adam.State>())
        {
            s.step = reader.ReadInt64();
            ReadTensor(reader, s.exp_avg);
            ReadTensor(reader, s.exp_avg_sq);
            ReadTensor(reader, s.max_exp_avg_sq);
        }
    }

    private static void WriteTensor(BinaryWriter writer, Tensor? t)
    {
        writer.Write(t is not null);
        if (t is null) return;
        using var contiguous = t.detach().contiguous();
        contiguous.Save(writer);
    }

    private static void ReadTensor(BinaryReader reader, Tensor? target)
    {
        var present = reader.ReadBoolean();
        if (present != target is not null) throw new InvalidDataException("the optimiser state was saved with other settings (amsgrad)");
        if (target is null) return;
        using var value = Tensor.Load(reader);
        if (!value.shape.SequenceEqual(target.shape)) throw new InvalidDataException($"an Adam moment of shape [{string.Join(", ", value.shape)}] does not fit a parameter of shape [{string.Join(", ", target.shape)}]");
        using var _ = no_grad();
        target.copy_(value);
    }
}
