using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>
/// Saves and loads a module's parameters and buffers in TorchSharp's own state-dict format (the bytes
/// <c>Module.save</c> writes for a contiguous model, so either can read the other's files). Needed because TorchSharp
/// 0.107's <c>Module.save</c> and <c>Module.load</c> throw "Bytes() called on non-contiguous tensor" on channels_last
/// weights, EvenConv's default layout: here each tensor is written from a contiguous copy and read back into the
/// module's own tensor, whose layout is kept.
/// </summary>
public static class ModelWeights
{
    /// <summary>Writes every parameter and buffer of <paramref name="module"/> to <paramref name="path"/> atomically (temp file, then rename).</summary>
    public static void Save(nn.Module module, string path)
    {
        var temp = path + ".tmp";
        using (var stream = File.Create(temp)) Save(module, stream);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Writes every parameter and buffer of <paramref name="module"/> to <paramref name="stream"/>, which stays open.</summary>
    public static void Save(nn.Module module, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = NewDisposeScope();
        var contiguous = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.contiguous());
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        nn.Module.save_state_dict(writer, contiguous);
    }

    /// <summary>Loads weights saved by <see cref="Save(nn.Module, string)"/> or TorchSharp's <c>Module.save</c>.</summary>
    /// <exception cref="EvenConvException">The file holds another architecture (a missing, extra or differently shaped tensor).</exception>
    public static void Load(nn.Module module, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No weights file at {path}.", path);
        using var stream = File.OpenRead(path);
        Load(module, stream, path);
    }

    /// <summary>Loads weights from <paramref name="stream"/> into <paramref name="module"/>; every tensor must be present with its shape.</summary>
    public static void Load(nn.Module module, Stream stream, string source = "the stream")
    {
        ArgumentNullException.ThrowIfNull(module);
        var state = module.state_dict();
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        var count = ReadLeb128(reader);
        if (count != state.Count)
            throw new EvenConvException($"{source} holds {count} tensors but the model has {state.Count}: it was saved from another architecture or options (model name, conv kind, classes, input channels). Build the model with the options it was trained with.");
        using var _ = no_grad();
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            if (!state.TryGetValue(key, out var target))
                throw new EvenConvException($"{source} has a tensor '{key}' that the model lacks: it was saved from another architecture. Build the model it was trained as.");
            // A contiguous tensor is read in place; a channels_last one through a contiguous copy.
            using var buffer = target.contiguous();
            try
            {
                buffer.Load(reader);
            }
            catch (ArgumentException e)
            {
                throw new EvenConvException($"{source}: tensor '{key}' does not fit the model's [{string.Join(", ", target.shape)}] {target.dtype} ({e.Message}). Build the model with the options it was trained with.", e);
            }
            if (!target.is_contiguous()) target.copy_(buffer);
        }
    }

    private static long ReadLeb128(BinaryReader reader)
    {
        long value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = reader.ReadByte();
            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
    }
}
