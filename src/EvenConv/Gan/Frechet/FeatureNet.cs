using System.Security.Cryptography;
using System.Text.Json;
using EvenConv.IO;
using EvenConv.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Gan.Frechet;

/// <summary>What a feature network was trained on and how well it classifies (stored in its file).</summary>
/// <param name="Dataset">Data set name, e.g. "fashion-mnist/train".</param>
/// <param name="Channels">Image channels.</param>
/// <param name="Resolution">Image side the network was trained at (the GAN resolution).</param>
/// <param name="Classes">Number of classes.</param>
/// <param name="Epochs">Training epochs.</param>
/// <param name="TestAccuracy">Accuracy on the test split (0–1).</param>
public sealed record FeatureNetInfo(string Dataset, int Channels, int Resolution, int Classes, int Epochs, double TestAccuracy);

/// <summary>
/// The offline feature extractor of Decision 8: a small C3 classifier of the GAN's own data set (trained by
/// <see cref="FeatureNetTrainer"/>, <c>gan feature-net</c>), whose 64-d global-pooled features stand in for
/// Inception's. Its distance is labelled "FD-&lt;dataset&gt;" — a proxy that ranks generators of that data set; its
/// values are not comparable with FID.
/// </summary>
public sealed class FeatureNet : nn.Module<Tensor, Tensor>, IFeatureExtractor
{
    private const string FileMagic = "evenconv-feature-net/1";
    /// <summary>Length of the feature vector.</summary>
    public const int Width = 64;
    private readonly ModuleList<ConvLayer> convs;
    private readonly ModuleList<BatchNorm2d> bns;
    private readonly Linear fc;
    private string _cacheKey = "featurenet-untrained";

    /// <summary>An untrained network for the given data.</summary>
    public FeatureNet(FeatureNetInfo info) : base("FeatureNet")
    {
        Info = info;
        int[] widths = [16, 32, Width, Width];
        convs = new ModuleList<ConvLayer>();
        bns = new ModuleList<BatchNorm2d>();
        var channels = info.Channels;
        foreach (var w in widths)
        {
            convs.Add(Conv.Create(new ConvSpec(channels, w, ConvKind.C3)));
            bns.Add(nn.BatchNorm2d(w));
            channels = w;
        }
        fc = nn.Linear(Width, info.Classes);
        RegisterComponents();
    }

    /// <summary>Training data and accuracy.</summary>
    public FeatureNetInfo Info { get; private set; }

    public string MetricName => $"FD-{DatasetLabel(Info.Dataset)}";
    public string CacheKey => _cacheKey;
    public int FeatureDimension => Width;

    /// <summary>Class logits (N, classes).</summary>
    public override Tensor forward(Tensor images) => fc.call(Embed(images));

    public Tensor Features(Tensor images)
    {
        using var _ = no_grad();
        return Embed(images);
    }

    private Tensor Embed(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = images;
        for (var i = 0; i < convs.Count; i++)
        {
            x = F.relu(bns[i].call(convs[i].call(x)));
            if (i < 2) x = F.max_pool2d(x, 2);
        }
        return F.adaptive_avg_pool2d(x, 1).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>Writes the network and its <see cref="Info"/> to one file, atomically.</summary>
    public void Save(string path, FeatureNetInfo info)
    {
        Info = info;
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            w.Write(FileMagic);
            w.Write(JsonSerializer.Serialize(info));
            ModuleState.Save(this, w);
        });
        _cacheKey = KeyOf(path);
    }

    /// <summary>Loads a network written by <see cref="Save"/>, in eval mode.</summary>
    public static FeatureNet Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No feature network at {path}. Train one with `evenconv gan feature-net --data NAME` (or pass --features inception:FILE).", path);
        using var r = new BinaryReader(File.OpenRead(path));
        try
        {
            if (r.ReadString() != FileMagic) throw new InvalidDataException("not an EvenConv feature network");
            var info = JsonSerializer.Deserialize<FeatureNetInfo>(r.ReadString()) ?? throw new InvalidDataException("missing description");
            var net = new FeatureNet(info);
            ModuleState.Load(net, r);
            net.eval();
            net._cacheKey = KeyOf(path);
            return net;
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or JsonException or ArgumentException)
        {
            throw new EvenConvException($"{path} is not a readable feature network ({e.Message}); retrain it with `evenconv gan feature-net`.", e);
        }
    }

    /// <summary>"fashion-mnist/train" → "fashion-mnist".</summary>
    public static string DatasetLabel(string datasetName) => datasetName.Split('/')[0];

    private static string KeyOf(string path)
    {
        using var stream = File.OpenRead(path);
        return "featurenet-" + Convert.ToHexStringLower(SHA256.HashData(stream))[..12];
    }
}
