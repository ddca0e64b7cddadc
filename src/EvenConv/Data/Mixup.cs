namespace EvenConv.Data;

/// <summary>Mixes the samples of a prepared batch in place (§3.2 for the authors' variant).</summary>
internal static class Mixup
{
    /// <summary>Mixes <paramref name="pixels"/> (N samples of <paramref name="sampleSize"/> floats); returns each sample's
    /// partner label and partner weight, or nulls when mixup is off.</summary>
    public static (long[]? Partners, float[]? Weights) Apply(AugmentationOptions options, float[] pixels, long[] labels, int sampleSize, CounterRandom random)
    {
        var n = labels.Length;
        if (options.Mixup == MixupKind.None) return (null, null);
        var partner = new int[n];
        var weight = new float[n];
        if (options.Mixup == MixupKind.Uniform)
        {
            for (var i = 0; i < n; i++)
            {
                partner[i] = (i + 1) % n;
                weight[i] = (float)(random.NextDouble() * options.MixupAlpha);
            }
        }
        else
        {
            var lambda = (float)random.NextBeta(options.MixupAlpha, options.MixupAlpha);
            for (var i = 0; i < n; i++) partner[i] = i;
            for (var i = n - 1; i > 0; i--)
            {
                var j = random.Next(i + 1);
                (partner[i], partner[j]) = (partner[j], partner[i]);
            }
            Array.Fill(weight, 1 - lambda);
        }
        var original = (float[])pixels.Clone();
        for (var i = 0; i < n; i++)
        {
            var w = weight[i];
            var target = pixels.AsSpan(i * sampleSize, sampleSize);
            var a = original.AsSpan(i * sampleSize, sampleSize);
            var b = original.AsSpan(partner[i] * sampleSize, sampleSize);
            for (var k = 0; k < sampleSize; k++) target[k] = (1 - w) * a[k] + w * b[k];
        }
        return (partner.Select(p => labels[p]).ToArray(), weight);
    }
}
