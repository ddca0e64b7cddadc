using EvenConv.Data;
using EvenConv.Gan;
using EvenConv.Layers;

namespace EvenConv.Tests.Gan;

/// <summary>Tiny data and networks for GAN tests: 6×6 grey images (padded to 8×8), two classes.</summary>
internal static class GanTestData
{
    /// <summary>Class 0: a bright square on black; class 1: a bright bar; with per-image noise.</summary>
    public static InMemoryImageDataset Shapes(int count = 32, int size = 6, int seed = 1)
    {
        var random = new Random(seed);
        var pixels = new byte[count * size * size];
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = i % 2;
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    var on = labels[i] == 0 ? x is > 0 and < 5 && y is > 0 and < 5 : x is 2 or 3;
                    pixels[(i * size + y) * size + x] = (byte)(on ? 200 + random.Next(56) : random.Next(30));
                }
        }
        return new InMemoryImageDataset("shapes/train", pixels, labels, 1, size, size, ["square", "bar"]);
    }

    /// <summary>Class 0: bright noise, class 1: dark noise — separable by any classifier within a few steps.</summary>
    public static InMemoryImageDataset Brightness(int count = 64, int size = 6, int seed = 2)
    {
        var random = new Random(seed);
        var pixels = new byte[count * size * size];
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = i % 2;
            for (var p = 0; p < size * size; p++) pixels[i * size * size + p] = (byte)(labels[i] == 0 ? 150 + random.Next(106) : random.Next(106));
        }
        return new InMemoryImageDataset("brightness/train", pixels, labels, 1, size, size, ["bright", "dark"]);
    }

    public static GanArchitecture TinyArchitecture(string kind = "c2sp") =>
        new(ConvKind.Parse(kind), ImageChannels: 1, Resolution: 8, LatentDim: 8, GeneratorWidth: 8, DiscriminatorWidth: 4);

    public static GanTrainingOptions TinyOptions(int iterations) => new()
    {
        Iterations = iterations, BatchSize = 4, SampleEvery = 2, SampleCount = 4, CheckpointEvery = 2, Seed = 3,
    };

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "evenconv-gan-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
