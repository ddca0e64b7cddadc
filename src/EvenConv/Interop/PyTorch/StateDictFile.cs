using System.Text.Json;
using EvenConv.IO;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace EvenConv.Interop.PyTorch;

/// <summary>
/// A model's weights as a PyTorch state dict, written and read with TorchSharp.PyBridge: <c>.safetensors</c>, or a
/// <c>torch.save</c> pickle (<c>.pt</c>, <c>.pth</c>, <c>.bin</c>). The keys are the model's own state-dict names, which
/// are PyTorch's: dotted module paths ("stages.0.blocks.0.conv1.weight", "head.fc.weight"), batch norms with
/// weight/bias/running_mean/running_var/num_batches_tracked. Tensors are stored NCHW-contiguous whatever their memory
/// layout, float32 as trained, so <c>model.load_state_dict</c> of the reference modules in interop/python reads them
/// as they are (docs/deploying.md).
/// </summary>
public static class StateDictFile
{
    /// <summary>Which format a path's extension names.</summary>
    public static StateDictFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".safetensors" => StateDictFormat.Safetensors,
        ".pt" or ".pth" or ".bin" => StateDictFormat.TorchPickle,
        var other => throw new ArgumentException($"{path}: unknown state-dict format '{other}'; use .safetensors, or .pt/.pth for a torch.save file."),
    };

    /// <summary>Writes the state dict of <paramref name="model"/> to <paramref name="path"/> (format by extension), atomically.</summary>
    public static void Save(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var format = FormatOf(path);
        using var scope = NewDisposeScope();
        var dense = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous());
        AtomicFile.Write(path, stream =>
        {
            if (format == StateDictFormat.Safetensors) Safetensors.SaveStateDict(stream, dense, leaveOpen: true);
            else PyTorchPickler.PickleStateDict(stream, dense, leaveOpen: true);
        });
    }

    /// <summary>Reads every tensor of a state-dict file; the caller disposes them.</summary>
    /// <exception cref="InvalidDataException">The file is not a readable state dict of its format.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        var format = FormatOf(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: state-dict file not found.", path);
        using var stream = File.OpenRead(path);
        try
        {
            if (format == StateDictFormat.Safetensors)
            {
                CheckSafetensorsHeader(stream, path);
                return Safetensors.LoadStateDict(stream, leaveOpen: true);
            }
            var table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
            var tensors = new Dictionary<string, Tensor>();
            foreach (var key in table.Keys)
                tensors[(string)key] = table[key] as Tensor ?? throw new InvalidDataException($"{path}: entry '{key}' is not a tensor; save model.state_dict() with torch.save.");
            return tensors;
        }
        catch (Exception e) when (e is not (InvalidDataException or OutOfMemoryException or FileNotFoundException))
        {
            throw new InvalidDataException($"{path}: not a readable {(format == StateDictFormat.Safetensors ? "safetensors" : "torch.save state-dict")} file ({e.Message}); it is corrupt or truncated, or was saved as a whole model rather than model.state_dict().", e);
        }
    }

    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>, strictly (see <see cref="CopyInto"/>).</summary>
    public static void Load(nn.Module model, string path)
    {
        var tensors = Read(path);
        try
        {
            CopyInto(model, tensors, path);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Copies <paramref name="tensors"/> into <paramref name="model"/>'s parameters and buffers. Strict, as
    /// PyTorch's <c>load_state_dict</c>: every key of the model must be there with its shape, and no other key; otherwise
    /// nothing is copied and the error lists the missing, unexpected and mis-shaped entries.</summary>
    /// <exception cref="EvenConvException">The keys or shapes do not match the model.</exception>
    public static void CopyInto(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        var target = model.state_dict();
        var problems = new List<string>();
        var missing = target.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        var unexpected = tensors.Keys.Where(k => !target.ContainsKey(k)).ToList();
        if (missing.Count > 0) problems.Add($"missing {missing.Count} ({List(missing)})");
        if (unexpected.Count > 0) problems.Add($"unexpected {unexpected.Count} ({List(unexpected)})");
        var shapes = target.Where(kv => tensors.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} is [{string.Join(", ", tensors[kv.Key].shape)}], the model's [{string.Join(", ", kv.Value.shape)}]").ToList();
        if (shapes.Count > 0) problems.Add($"{shapes.Count} of another shape ({List(shapes)})");
        if (problems.Count > 0)
            throw new EvenConvException($"{source}: the weights do not fit {model.GetName()}: {string.Join("; ", problems)}. " +
                "Check the model name, kernel kind, input channels and classes it was made for.");
        using var _ = no_grad();
        foreach (var (name, value) in target) value.copy_(tensors[name]);
    }

    private static string List(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(5)) + (items.Count > 5 ? $", … {items.Count - 5} more" : "");

    /// <summary>PyBridge trusts the file: a header length beyond the file would be a request to allocate gigabytes, and
    /// tensor bytes past the end would come back short. Both mean a truncated or foreign file.</summary>
    private static void CheckSafetensorsHeader(Stream stream, string path)
    {
        var prefix = new byte[8];
        if (stream.Length < 8 || stream.Read(prefix) != 8 || BitConverter.ToUInt64(prefix) > (ulong)(stream.Length - 8))
            throw new InvalidDataException($"{path}: not a safetensors file (its 8-byte header length is missing or larger than the file); it is truncated or another format.");
        var header = new byte[BitConverter.ToUInt64(prefix)];
        stream.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        var end = json.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => p.Value.GetProperty("data_offsets")[1].GetInt64()).DefaultIfEmpty(0).Max();
        if (end > stream.Length - 8 - header.Length)
            throw new InvalidDataException($"{path}: the safetensors file is truncated (its tensors need {end} bytes after the header, it has {stream.Length - 8 - header.Length}).");
        stream.Position = 0;
    }
}

/// <summary>The file formats of <see cref="StateDictFile"/>.</summary>
public enum StateDictFormat
{
    /// <summary>Hugging Face safetensors: a JSON index and raw little-endian tensor bytes; no code runs on load.</summary>
    Safetensors,
    /// <summary>PyTorch's <c>torch.save(model.state_dict())</c> zip of pickles.</summary>
    TorchPickle,
}
