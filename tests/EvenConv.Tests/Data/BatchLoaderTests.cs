using EvenConv.Data;
using EvenConv.Ops;

namespace EvenConv.Tests.Data;

public class BatchLoaderTests
{
    /// <summary>N grey or RGB images with distinct deterministic pixels; label i % 3.</summary>
    internal static InMemoryImageDataset Images(int n = 10, int c = 1, int h = 5, int w = 4)
    {
        var size = c * h * w;
        var pixels = Enumerable.Range(0, n).SelectMany(i => TestData.Pixels(i, size)).ToArray();
        return new InMemoryImageDataset("toy/train", pixels, Enumerable.Range(0, n).Select(i => i % 3).ToArray(), c, h, w, ["a", "b", "c"]);
    }

    private static readonly ChannelNormalization Unit1 = new([10f], [2f]);

    private static BatchLoader Loader(IImageDataset data, AugmentationOptions? augmentation = null, int batch = 4, bool shuffle = true,
        MemoryLayout layout = MemoryLayout.Nchw, int workers = 1, ChannelNormalization? norm = null) =>
        new(data, norm ?? Unit1, new BatchLoaderOptions { BatchSize = batch, Shuffle = shuffle, Augmentation = augmentation ?? AugmentationOptions.None, Seed = 42, Layout = layout, Workers = workers });

    [Fact]
    public void Without_augmentation_pixels_are_normalised_in_data_set_order()
    {
        var data = Images();
        var batch = Loader(data, shuffle: false).Prepare(1, 1);
        Assert.Equal([1L, 2, 0, 1], batch.Labels);
        var image = TestData.Pixels(5, 20);
        for (var k = 0; k < 20; k++) Assert.Equal((image[k] - 10f) / 2f, batch.Pixels[20 + k], 5);
    }

    [Fact]
    public void Channels_last_batches_hold_the_same_images()
    {
        var data = Images(6, c: 3);
        var norm = new ChannelNormalization([1f, 2f, 3f], [4f, 5f, 6f]);
        var aug = AugmentationOptions.Cifar with { Cutout = 2 };
        using var a = Loader(data, aug, layout: MemoryLayout.Nchw, norm: norm).Prepare(2, 0).Images();
        using var b = Loader(data, aug, layout: MemoryLayout.ChannelsLast, norm: norm).Prepare(2, 0).Images();
        Assert.True(TensorLayout.IsChannelsLast(b));
        Assert.Equal(a.shape, b.shape);
        Assert.True(a.allclose(b, 0, 0));
    }

    [Fact]
    public void Pad_crop_and_flip_equal_an_explicit_padded_reference()
    {
        const int h = 5, w = 4, pad = 2;
        var image = TestData.Pixels(3, h * w);
        var aug = new AugmentationOptions { PadCrop = pad, HorizontalFlip = true };
        var flips = 0;
        for (var key = 0; key < 40; key++)
        {
            var output = new float[h * w];
            var random = new CounterRandom(7, 1, key, 2);
            SampleTransform.Apply(image, output, 1, h, w, new ChannelNormalization([0f], [1f]), aug, ref random, channelsLast: false);
            // Reference: the same draws, applied to an explicitly zero-padded image.
            var draws = new CounterRandom(7, 1, key, 2);
            var dy = draws.Next(2 * pad + 1);
            var dx = draws.Next(2 * pad + 1);
            var flip = draws.Next(2) == 1;
            flips += flip ? 1 : 0;
            var padded = new double[h + 2 * pad, w + 2 * pad];
            for (var y = 0; y < h; y++) for (var x = 0; x < w; x++) padded[y + pad, x + pad] = image[y * w + x];
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var cropped = padded[y + dy, (flip ? w - 1 - x : x) + dx];
                    Assert.Equal(cropped, output[y * w + x]);
                }
        }
        Assert.InRange(flips, 8, 32);
    }

    [Fact]
    public void Cutout_blanks_a_clipped_square_with_the_fill_value()
    {
        const int h = 8, w = 8;
        var image = Enumerable.Repeat((byte)200, h * w).ToArray();
        var norm = new ChannelNormalization([100f], [50f]);
        foreach (var normalizeFirst in new[] { false, true })
        {
            var sizes = new HashSet<int>();
            for (var key = 0; key < 30; key++)
            {
                var output = new float[h * w];
                var random = new CounterRandom(1, 1, key, 2);
                SampleTransform.Apply(image, output, 1, h, w, norm, new AugmentationOptions { Cutout = 4, NormalizeFirst = normalizeFirst }, ref random, false);
                var fill = normalizeFirst ? 0f : -2f;
                var cut = Enumerable.Range(0, h * w).Where(i => output[i] == fill).ToArray();
                Assert.All(Enumerable.Range(0, h * w).Except(cut), i => Assert.Equal(2f, output[i]));
                // The cut pixels form a rectangle of at most 4×4.
                var ys = cut.Select(i => i / w).ToArray(); var xs = cut.Select(i => i % w).ToArray();
                var area = (ys.Max() - ys.Min() + 1) * (xs.Max() - xs.Min() + 1);
                Assert.Equal(area, cut.Length);
                Assert.True(ys.Max() - ys.Min() < 4 && xs.Max() - xs.Min() < 4);
                sizes.Add(cut.Length);
            }
            Assert.Contains(16, sizes);
            Assert.True(sizes.Count > 1, "some squares are clipped at the border");
        }
    }

    [Fact]
    public void Epochs_are_reproducible_resumable_and_parallel_safe()
    {
        var data = Images(11);
        var aug = new AugmentationOptions { PadCrop = 1, HorizontalFlip = true, Cutout = 2, Mixup = MixupKind.Uniform, MixupAlpha = 0.5 };
        var full = Loader(data, aug).Epoch(3).ToArray();
        Assert.Equal(3, full.Length);
        Assert.Equal(3, full[^1].Count);
        var again = Loader(data, aug, workers: 3).Epoch(3).ToArray();
        var resumed = Loader(data, aug).Epoch(3, firstBatch: 1).ToArray();
        for (var b = 0; b < 3; b++)
        {
            Assert.Equal(full[b].Pixels, again[b].Pixels);
            Assert.Equal(full[b].MixWeights, again[b].MixWeights);
        }
        Assert.Equal(full[1].Pixels, resumed[0].Pixels);
        Assert.Equal(full[2].Labels, resumed[1].Labels);
        var other = Loader(data, aug).Order(4);
        Assert.NotEqual(Loader(data, aug).Order(3), other);
        Assert.Equal(Enumerable.Range(0, 11), other.Order());
    }

    [Fact]
    public void Authors_mixup_mixes_each_sample_with_the_next_by_a_uniform_weight()
    {
        var data = Images(8);
        var plain = Loader(data, new AugmentationOptions { HorizontalFlip = true }, batch: 8).Prepare(1, 0);
        var mixed = Loader(data, new AugmentationOptions { HorizontalFlip = true, Mixup = MixupKind.Uniform, MixupAlpha = 0.4 }, batch: 8).Prepare(1, 0);
        Assert.Equal(plain.Labels, mixed.Labels);
        for (var i = 0; i < 8; i++)
        {
            var j = (i + 1) % 8;
            var weight = mixed.MixWeights![i];
            Assert.InRange(weight, 0f, 0.4f);
            Assert.Equal(plain.Labels[j], mixed.MixLabels![i]);
            for (var k = 0; k < 20; k++)
                Assert.Equal((1 - weight) * plain.Pixels[i * 20 + k] + weight * plain.Pixels[j * 20 + k], mixed.Pixels[i * 20 + k], 5);
        }
        Assert.True(mixed.MixWeights!.Distinct().Count() > 1, "λ is drawn per sample");
    }

    [Fact]
    public void Beta_mixup_uses_one_weight_and_a_permutation()
    {
        var data = Images(8);
        var plain = Loader(data, batch: 8).Prepare(1, 0);
        var mixed = Loader(data, new AugmentationOptions { Mixup = MixupKind.Beta, MixupAlpha = 1 }, batch: 8).Prepare(1, 0);
        var weight = mixed.MixWeights![0];
        Assert.All(mixed.MixWeights, w => Assert.Equal(weight, w));
        Assert.Equal(plain.Labels.Order(), mixed.MixLabels!.Order());
    }

    [Fact]
    public void Beta_sampler_has_the_right_mean_and_variance()
    {
        var random = new CounterRandom(3, 0, 0, 0);
        const double a = 0.4;
        var draws = Enumerable.Range(0, 40_000).Select(_ => random.NextBeta(a, a)).ToArray();
        var mean = draws.Average();
        var variance = draws.Select(d => (d - mean) * (d - mean)).Average();
        Assert.Equal(0.5, mean, 1);
        Assert.InRange(variance, 1 / (4 * (2 * a + 1)) * 0.95, 1 / (4 * (2 * a + 1)) * 1.05);
    }

    [Fact]
    public void A_failing_read_surfaces_on_the_consumer_thread_and_stopping_early_does_not_hang()
    {
        var loader = Loader(new FailingDataset(Images(12), failAt: 9));
        var e = Assert.Throws<InvalidDataException>(() => loader.Epoch(1).ToArray());
        Assert.Contains("image 9", e.Message);
        using var first = Loader(Images(40), batch: 2).Epoch(1).GetEnumerator();
        Assert.True(first.MoveNext());
        Assert.True(loader.StallTime >= TimeSpan.Zero);
    }

    private sealed class FailingDataset(IImageDataset inner, int failAt) : IImageDataset
    {
        public string Name => inner.Name;
        public int Count => inner.Count;
        public int Channels => inner.Channels;
        public int Height => inner.Height;
        public int Width => inner.Width;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public int Label(int index) => inner.Label(index);
        public void ReadImage(int index, Span<byte> destination)
        {
            if (index == failAt) throw new InvalidDataException($"image {index} is corrupt");
            inner.ReadImage(index, destination);
        }
    }
}
