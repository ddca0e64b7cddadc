using System.Text;
using System.Text.Json;
using EvenConv.Data;
using EvenConv.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Training;

/// <summary>Where a run stands: the position to continue from and the partial sums of the epoch in progress.</summary>
public sealed record TrainingPosition
{
    /// <summary>1-based epoch to continue (Epochs + 1 when the run is finished).</summary>
    public int Epoch { get; init; } = 1;
    /// <summary>0-based batch of <see cref="Epoch"/> to continue from.</summary>
    public int NextBatch { get; init; }
    /// <summary>Optimizer steps taken so far.</summary>
    public long GlobalStep { get; init; }
    /// <summary>Sum of per-batch mean losses × batch size in the epoch so far.</summary>
    public double EpochLossSum { get; init; }
    public long EpochCorrect { get; init; }
    public long EpochSeen { get; init; }
    public double EpochComputeSeconds { get; init; }
    public double EpochStallSeconds { get; init; }
    /// <summary>Seconds spent training (all epochs), excluding time while stopped.</summary>
    public double TrainSeconds { get; init; }
}

/// <summary>Everything in a checkpoint except the tensors; <paramref name="Normalization"/> is what the model's inputs were
/// normalised with, so that evaluation on any data feeds it the same way.</summary>
public sealed record CheckpointHeader(TrainingConfig Config, TrainingPosition Position, IReadOnlyList<EpochMetrics> History,
    ChannelNormalization Normalization, DateTime WrittenUtc);

/// <summary>
/// A checkpoint file: magic, JSON header (config, position, metrics history), then named tensors — the model's state
/// ("model.*": parameters and buffers such as BatchNorm running statistics), the optimizer's momentum buffers
/// ("velocity.*") and libtorch's default generator state ("rng"). Written atomically.
/// </summary>
public static class Checkpoint
{
    private static readonly byte[] Magic = "EVCKPT01"u8.ToArray();
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Writes a checkpoint of <paramref name="model"/> and <paramref name="optimizer"/> with <paramref name="header"/>.</summary>
    public static void Save(string path, CheckpointHeader header, nn.Module model, NesterovSgd? optimizer)
    {
        var tensors = new List<(string, Tensor)>();
        tensors.AddRange(model.state_dict().Select(kv => ("model." + kv.Key, kv.Value)));
        if (optimizer is not null) tensors.AddRange(optimizer.Velocities.Select(v => ("velocity." + v.Name, v.Velocity)));
        using var rng = torch.get_rng_state();
        tensors.Add(("rng", rng));
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
            writer.Write(json.Length);
            writer.Write(json);
            writer.Write(tensors.Count);
            foreach (var (name, tensor) in tensors)
            {
                writer.Write(name);
                using var dense = tensor.detach().cpu().contiguous();
                dense.Save(writer);
            }
        });
    }

    /// <summary>Reads just the header (cheap: the tensors are not read).</summary>
    public static CheckpointHeader ReadHeader(string path)
    {
        using var reader = Open(path);
        return ReadHeader(reader, path);
    }

    /// <summary>Reads just the header from <paramref name="stream"/> (disposed) holding the file <paramref name="path"/>.</summary>
    public static CheckpointHeader ReadHeader(Stream stream, string path)
    {
        using var reader = Open(stream, path);
        return ReadHeader(reader, path);
    }

    /// <summary>Reads a checkpoint; the caller owns (and disposes) the returned tensors.</summary>
    public static (CheckpointHeader Header, Dictionary<string, Tensor> Tensors) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found.", path);
        return Read(File.OpenRead(path), path);
    }

    /// <summary>Reads a checkpoint from <paramref name="stream"/> (disposed) holding the file <paramref name="path"/>
    /// (named in errors): the bytes a data-parallel job's rank 0 read and broadcast.</summary>
    public static (CheckpointHeader Header, Dictionary<string, Tensor> Tensors) Read(Stream stream, string path)
    {
        using var reader = Open(stream, path);
        var header = ReadHeader(reader, path);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                tensors[name] = Tensor.Load(reader).DetachFromDisposeScope();
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException($"{path}: checkpoint is truncated or corrupt ({e.Message}); use an earlier one.", e);
        }
        return (header, tensors);
    }

    /// <summary>Copies the saved model state into <paramref name="model"/>; every entry must exist with the same shape.</summary>
    public static void LoadModel(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors, string path)
    {
        using var _ = no_grad();
        foreach (var (name, target) in model.state_dict())
        {
            if (!tensors.TryGetValue("model." + name, out var saved))
                throw new InvalidDataException($"{path}: has no '{name}'; the checkpoint was made for another model or kernel kind.");
            if (!saved.shape.SequenceEqual(target.shape))
                throw new InvalidDataException($"{path}: '{name}' has shape [{string.Join(",", saved.shape)}] but the model's is [{string.Join(",", target.shape)}]; the checkpoint was made for another model.");
            target.copy_(saved);
        }
    }

    /// <summary>Restores the optimizer's momentum buffers and libtorch's generator state.</summary>
    public static void LoadOptimizer(NesterovSgd optimizer, IReadOnlyDictionary<string, Tensor> tensors, string path)
    {
        using var _ = no_grad();
        foreach (var (name, velocity) in optimizer.Velocities)
        {
            if (!tensors.TryGetValue("velocity." + name, out var saved))
                throw new InvalidDataException($"{path}: has no momentum buffer for '{name}'; it is not a training checkpoint of this model.");
            velocity.copy_(saved);
        }
        if (tensors.TryGetValue("rng", out var rng)) torch.set_rng_state(rng);
    }

    private static BinaryReader Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found.", path);
        return Open(File.OpenRead(path), path);
    }

    private static BinaryReader Open(Stream stream, string path)
    {
        var reader = new BinaryReader(stream, Encoding.UTF8);
        if (reader.BaseStream.Length < Magic.Length || !reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
        {
            reader.Dispose();
            throw new InvalidDataException($"{path}: not an EvenConv checkpoint (wrong magic number).");
        }
        return reader;
    }

    private static CheckpointHeader ReadHeader(BinaryReader reader, string path)
    {
        try
        {
            var length = reader.ReadInt32();
            return JsonSerializer.Deserialize<CheckpointHeader>(reader.ReadBytes(length), Json)
                   ?? throw new InvalidDataException($"{path}: empty checkpoint header.");
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: checkpoint header is corrupt ({e.Message}).", e);
        }
    }
}
