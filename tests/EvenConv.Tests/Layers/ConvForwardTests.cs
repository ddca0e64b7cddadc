using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using static EvenConv.Tests.Reference.TestTensors;

namespace EvenConv.Tests.Layers;

public class ConvForwardTests
{
    private static readonly (int H, int W)[] Sizes = [(7, 10), (6, 5), (5, 8), (1, 6), (4, 9), (11, 3)];

    /// <summary>Channels 1, 3, 4, 5, 8, 13 (every C % 4), each with its own output width, input size and layout; then
    /// depthwise with bias, groups with dilation, and a larger dilation.</summary>
    private static IEnumerable<ConvCase> Variants(string kind, int stride, StrideMode mode)
    {
        int[] channels = [1, 3, 4, 5, 8, 13], outs = [2, 3, 4, 1, 5, 3];
        for (var i = 0; i < channels.Length; i++)
            yield return new ConvCase(kind, channels[i], outs[i], stride, mode, Height: Sizes[i].H, Width: Sizes[i].W,
                Layout: i % 2 == 0 ? MemoryLayout.Nchw : MemoryLayout.ChannelsLast);
        yield return new ConvCase(kind, 8, 8, stride, mode, Groups: 8, Bias: true, Layout: MemoryLayout.ChannelsLast);
        yield return new ConvCase(kind, 6, 4, stride, mode, Groups: 2, Dilation: 2, Bias: true, Height: 9, Width: 6);
        yield return new ConvCase(kind, 5, 3, stride, mode, Dilation: 3, Height: 4, Width: 7, Layout: MemoryLayout.ChannelsLast);
    }

    [Theory, MemberData(nameof(ConvKinds.KindsAndStrides), MemberType = typeof(ConvKinds))]
    public void Forward_matches_the_float64_loop_reference_in_float64_and_float32(string kind, int stride, StrideMode mode)
    {
        foreach (var c in Variants(kind, stride, mode))
        {
            using var exact = new ConvUnderTest(c);
            var expected = exact.Reference.Forward(exact.X, exact.W, exact.B);
            AssertClose(expected, exact.Run(exact.X), 1e-10, $"float64 {c}");
            using var single = new ConvUnderTest(c, torch.ScalarType.Float32);
            AssertClose(expected, single.Run(single.X), 1e-4, $"float32 {c}");
        }
    }

    [Fact]
    public void A_hand_computed_C2_and_C2sp_output_pins_the_padding_corners()
    {
        // One 2×2 input channel per C2sp group, kernel all ones. Channel g holds 10^g everywhere, so each decimal
        // digit of an output pixel counts the input pixels that group g's window covers there.
        var x = new double[1, 4, 2, 2];
        for (var g = 0; g < 4; g++)
            for (var i = 0; i < 2; i++)
                for (var j = 0; j < 2; j++)
                    x[0, g, i, j] = Math.Pow(10, g);
        // Pixel (i, j): group 0 reads rows i..i+1, cols j..j+1; group 1 rows i−1..i, cols j−1..j; group 2 rows i..i+1,
        // cols j−1..j; group 3 rows i−1..i, cols j..j+1; reads outside the 2×2 input hit the zero padding.
        var expected = new double[,,,] { { {
            { 4 + 10 * 1 + 100 * 2 + 1000 * 2, 2 + 10 * 2 + 100 * 4 + 1000 * 1 },
            { 2 + 10 * 2 + 100 * 1 + 1000 * 4, 1 + 10 * 4 + 100 * 2 + 1000 * 2 } } } };
        using var layer = Conv.Create(new ConvSpec(4, 1, ConvKind.C2sp), w => w.fill_(1));
        using var input = ToTensor(x, torch.ScalarType.Float32);
        AssertClose(expected, ToArray(layer.call(input)), 0, "C2sp on 10^g per group");

        using var c2 = Conv.Create(new ConvSpec(1, 1, ConvKind.C2), w => w.fill_(1));
        using var ones = torch.ones(1, 1, 2, 2);
        // 'same' C2 pads bottom and right: the top-left pixel sees 4 inputs, the bottom-right one only itself.
        AssertClose(new double[,,,] { { { { 4, 2 }, { 2, 1 } } } }, ToArray(c2.call(ones)), 0, "C2 'same' padding");
    }
}
