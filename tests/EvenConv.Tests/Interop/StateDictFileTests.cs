using EvenConv.Interop.PyTorch;
using EvenConv.Layers;
using EvenConv.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

public class StateDictFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("evenconv-statedict-").FullName;
    private static readonly ModelOptions Options = new(ConvKind.C2sp, 1, 4, 8, 8);

    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".pt")]
    public void Weights_round_trip_exactly_into_a_fresh_model(string extension)
    {
        var path = Path.Combine(_dir, "w" + extension);
        using var source = InteropModels.WithRandomStatistics(ModelRegistry.Create("resnet20", Options));
        StateDictFile.Save(source, path);
        using var target = ModelRegistry.Create("resnet20", Options);
        StateDictFile.Load(target, path);
        var expected = source.state_dict();
        foreach (var (name, value) in target.state_dict())
            Assert.True(value.equal(expected[name]).all().item<bool>(), $"{name} differs after the round trip");
    }

    [Fact]
    public void Missing_unexpected_and_mis_shaped_keys_are_named_and_nothing_is_loaded()
    {
        using var model = ModelRegistry.Create("resnet20", Options);
        var tensors = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        tensors.Remove("head.fc.weight");
        tensors["head.fc.bias"] = zeros(4);
        tensors["stem.conv.weight"] = zeros(16, 3, 3, 3);
        tensors["stages.0.blocks.0.bn1.running_mean"] = ones(16);
        using var before = model.state_dict()["stages.0.blocks.0.bn1.running_mean"].clone();
        var e = Assert.Throws<EvenConvException>(() => StateDictFile.CopyInto(model, tensors, "w.safetensors"));
        Assert.Contains("missing 1 (head.fc.weight)", e.Message);
        Assert.Contains("unexpected 1 (head.fc.bias)", e.Message);
        Assert.Contains("stem.conv.weight is [16, 3, 3, 3], the model's [16, 1, 3, 3]", e.Message);
        Assert.True(before.equal(model.state_dict()["stages.0.blocks.0.bn1.running_mean"]).all().item<bool>(), "a failed load changed the model");
    }

    [Fact]
    public void Truncated_or_foreign_files_get_a_clear_error()
    {
        using var model = ModelRegistry.Create("resnet20", Options);
        var path = Path.Combine(_dir, "w.safetensors");
        StateDictFile.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => StateDictFile.Load(model, path)).Message);
        File.WriteAllText(path, "not a tensor file at all");
        Assert.Contains("not a safetensors file", Assert.Throws<InvalidDataException>(() => StateDictFile.Load(model, path)).Message);
        var pt = Path.Combine(_dir, "w.pt");
        File.WriteAllBytes(pt, bytes[..200]);
        Assert.Contains("torch.save", Assert.Throws<InvalidDataException>(() => StateDictFile.Load(model, pt)).Message);
        Assert.Throws<ArgumentException>(() => StateDictFile.Save(model, Path.Combine(_dir, "w.onnx")));
    }

    [Fact]
    public void Channels_last_weights_are_written_in_nchw_order()
    {
        using var layer = Conv.Create(new ConvSpec(3, 2, ConvKind.C2sp), layout: EvenConv.Ops.MemoryLayout.ChannelsLast);
        using (no_grad()) layer.Weight.copy_(arange(2 * 3 * 2 * 2, dtype: float32).view(2, 3, 2, 2));
        var path = Path.Combine(_dir, "conv.safetensors");
        StateDictFile.Save(layer, path);
        var read = Safetensors.LoadStateDict(path);
        using var weight = read["weight"];
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)i), weight.data<float>().ToArray());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
