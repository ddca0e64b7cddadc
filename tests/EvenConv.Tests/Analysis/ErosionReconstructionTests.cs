using EvenConv.Analysis;
using EvenConv.Layers;

namespace EvenConv.Tests.Analysis;

public class ErosionReconstructionTests
{
    private static readonly IReadOnlyList<ErosionCurve> Paper = ErosionReconstruction.Run(ConvKind.PaperKinds);

    [Fact]
    public void Q_never_increases_along_a_zero_padded_averaging_stack()
    {
        foreach (var curve in Paper)
        {
            Assert.Equal(55, curve.Q.Count);
            Assert.Equal(0.5, curve.Q[0], 15);
            for (var n = 1; n < curve.Q.Count; n++)
                Assert.True(curve.Q[n] <= curve.Q[n - 1] * (1 + 1e-12), $"{curve.Kind}: Q_{n} = {curve.Q[n]} > Q_{n - 1} = {curve.Q[n - 1]}");
        }
    }

    [Fact]
    public void At_layer_54_the_order_is_the_papers()
    {
        var order = Paper.OrderByDescending(c => c.Q[54]).Select(c => c.Kind.ToString()).ToArray();
        Assert.Equal(["c2sp", "c3", "c4sp", "c5", "c4", "c2"], order);
    }

    [Fact]
    public void A_4x4_map_through_two_C2_layers_matches_the_hand_computation()
    {
        // Ones through [1/2, 1/2] on (i, i+1) with a zero after the end: rows become a = [1, 1, 1, 1/2], then
        // b = [1, 1, 3/4, 1/4]; the map is b_i·b_j and Q = (Σb / 4)².
        var curve = ErosionReconstruction.Run(ConvKind.C2, new ErosionSetup(Size: 4, LayersPerStage: 2, Stages: 1, Value: 1));
        Assert.Equal([1, 0.765625, 0.5625], curve.Q.ToArray());
        double[] b = [1, 1, 0.75, 0.25];
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < 4; j++) Assert.Equal(b[i] * b[j], curve.FinalMap[i, j], 15);
    }

    [Fact]
    public void Every_kind_matches_an_independent_separable_float64_reference()
    {
        foreach (var curve in Paper)
        {
            var reference = SeparableReference(curve.Kind);
            for (var n = 0; n <= 54; n++) Assert.Equal(1, curve.Q[n] / reference[n], 10);
        }
    }

    // A constant input is an outer product v·vᵀ, and so is every map after separable filters and 2×2 pooling; the
    // mean filter of each kind (the four-group mean for c2sp/c4sp) is separable, so one axis suffices and Q = (mean v)².
    private static double[] SeparableReference(ConvKind kind)
    {
        // taps[t] weighs input i + first + t for output i.
        var (first, taps) = kind.ToString() switch
        {
            "c2" => (0, new[] { 0.5, 0.5 }),
            "c4" => (-1, new[] { 0.25, 0.25, 0.25, 0.25 }),
            "c3" => (-1, new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 }),
            "c5" => (-2, Enumerable.Repeat(0.2, 5).ToArray()),
            "c2sp" => (-1, new[] { 0.25, 0.5, 0.25 }),            // mean of windows (i−1, i) and (i, i+1)
            "c4sp" => (-2, new[] { 0.125, 0.25, 0.25, 0.25, 0.125 }), // mean of windows (i−2…i+1) and (i−1…i+2)
            _ => throw new ArgumentException(kind.ToString()),
        };
        var v = Enumerable.Repeat(Math.Sqrt(0.5), 32).ToArray();
        var q = new List<double> { Math.Pow(v.Average(), 2) };
        for (var n = 1; n <= 54; n++)
        {
            if (n is 19 or 37) v = Enumerable.Range(0, v.Length / 2).Select(i => (v[2 * i] + v[2 * i + 1]) / 2).ToArray();
            v = Enumerable.Range(0, v.Length).Select(i => taps.Select((w, t) => i + first + t is var j && j >= 0 && j < v.Length ? w * v[j] : 0).Sum()).ToArray();
            q.Add(Math.Pow(v.Average(), 2));
        }
        return q.ToArray();
    }
}
