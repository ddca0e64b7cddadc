using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.IO;

/// <summary>
/// Saves and loads a module's parameters and buffers in TorchSharp's <c>Module.save</c> format (entry count, then
/// name and tensor per entry), for modules whose tensors are channels_last. TorchSharp's own save needs contiguous
/// tensors and its load copies raw bytes into them, so both fail (or scramble) on channels_last weights; here each
/// tensor is written as a contiguous copy and read back with <c>copy_</c>, which keeps the module's layout.
/// Files from <c>Module.save</c> (and TorchSharp's exportsd.py) load too, and <c>Module.load</c> reads these files
/// into contiguous modules.
/// </summary>
public static class ModuleState
{
    /// <summary>Writes every parameter and buffer of <paramref name="module"/>.</summary>
    public static void Save(nn.Module module, BinaryWriter writer)
    {
        var state = module.state_dict();
        WriteCount(writer, state.Count);
        foreach (var (name, value) in state)
        {
            writer.Write(name);
            using var contiguous = value.detach().contiguous();
            contiguous.Save(writer);
        }
    }

    /// <summary>Reads into <paramref name="module"/>'s tensors; the names, shapes and types must match exactly.</summary>
    /// <exception cref="InvalidDataException">The stream holds another module's state.</exception>
    public static void Load(nn.Module module, BinaryReader reader)
    {
        var state = module.state_dict();
        var count = ReadCount(reader);
        if (count != state.Count)
            throw new InvalidDataException($"the file holds {count} tensors, the module has {state.Count}");
        using var _ = no_grad();
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            if (!state.TryGetValue(name, out var target)) throw new InvalidDataException($"the file holds '{name}', which the module does not have");
            using var value = Tensor.Load(reader);
            if (!value.shape.SequenceEqual(target.shape) || value.dtype != target.dtype)
                throw new InvalidDataException($"'{name}' is {value.dtype} [{string.Join(", ", value.shape)}] in the file but {target.dtype} [{string.Join(", ", target.shape)}] in the module");
            target.copy_(value);
        }
    }

    // TorchSharp writes the entry count as unsigned LEB128 (its codec is internal).
    private static void WriteCount(BinaryWriter writer, long value)
    {
        var v = (ulong)value;
        do
        {
            var b = (byte)(v & 0x7F);
            v >>= 7;
            writer.Write(v != 0 ? (byte)(b | 0x80) : b);
        } while (v != 0);
    }

    private static long ReadCount(BinaryReader reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = reader.ReadByte();
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return (long)value;
        }
        throw new InvalidDataException("a malformed entry count");
    }

    /// <summary>Writes every parameter and buffer of <paramref name="module"/> to <paramref name="path"/>, atomically.</summary>
    public static void Save(nn.Module module, string path) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            Save(module, writer);
        });

    /// <summary>Loads a file written by <see cref="Save(nn.Module, string)"/> or <c>Module.save</c>.</summary>
    /// <exception cref="EvenConvException">The file is missing, damaged, or holds another architecture.</exception>
    public static void Load(nn.Module module, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No weights file at {path}.", path);
        using var reader = new BinaryReader(File.OpenRead(path));
        try
        {
            Load(module, reader);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ArgumentException)
        {
            throw new EvenConvException($"{path} does not fit this model: {e.Message}. It was saved from another architecture or options (model name, conv kind, classes, input channels), or is damaged; build the model with the options it was trained with.", e);
        }
    }
}
