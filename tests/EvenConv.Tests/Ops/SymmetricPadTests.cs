using EvenConv.Layers;
using EvenConv.Ops;
using EvenConv.Tests.Reference;
using TorchSharp;
using static EvenConv.Tests.Reference.TestTensors;
using static TorchSharp.torch;

namespace EvenConv.Tests.Ops;

public class SymmetricPadTests
{
    private static readonly int[] Channels = [1, 3, 4, 5, 13];
    private static readonly MemoryLayout[] Layouts = [MemoryLayout.Nchw, MemoryLayout.ChannelsLast];

    public static TheoryData<int, int> KernelsAndDilations() => new() { { 2, 1 }, { 2, 2 }, { 4, 1 }, { 4, 3 }, { 6, 1 }, { 8, 2 } };

    [Theory, MemberData(nameof(KernelsAndDilations))]
    public void Pads_every_channel_group_exactly_as_the_reference_in_both_layouts_and_types(int kernel, int dilation)
    {
        var kind = new ConvKind(kernel, PaddingScheme.Symmetric);
        foreach (var c in Channels)
            foreach (var layout in Layouts)
            {
                var x = Random(new Random(c), 2, c, 5, 3);
                var expected = ReferencePadding.Pad(x, kind, dilation);
                foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
                {
                    using var scope = NewDisposeScope();
                    var input = ToTensor(x, dtype, layout);
                    var padded = SymmetricPad.Apply(input, kernel, dilation);
                    Assert.Equal(dtype, padded.dtype);
                    if (c > 1) Assert.Equal(layout == MemoryLayout.ChannelsLast, TensorLayout.IsChannelsLast(padded));
                    AssertClose(expected, ToArray(padded), dtype == ScalarType.Float64 ? 0 : 1e-7, $"{kind} dilation {dilation}, {c} channels, {layout} {dtype}");
                }
            }
    }

    [Theory, MemberData(nameof(KernelsAndDilations))]
    public void Gradient_is_the_reference_unpadding_and_matches_finite_differences(int kernel, int dilation)
    {
        var kind = new ConvKind(kernel, PaddingScheme.Symmetric);
        foreach (var c in Channels)
            foreach (var layout in Layouts)
            {
                using var scope = NewDisposeScope();
                var rng = new Random(c);
                var x = Random(rng, 2, c, 4, 3);
                var gy = Random(rng, 2, c, 4 + dilation * (kernel - 1), 3 + dilation * (kernel - 1));
                var gyTensor = ToTensor(gy, layout: layout);
                var input = ToTensor(x, layout: layout).requires_grad_();
                (SymmetricPad.Apply(input, kernel, dilation) * gyTensor).sum().backward();
                var gx = ToArray(input.grad!);
                var context = $"{kind} dilation {dilation}, {c} channels, {layout}";
                AssertClose(ReferencePadding.Unpad(gy, kind, dilation), gx, 0, context);

                var coordinates = Spread(gx.Length, 60);
                var fd = CentralDifferences(v =>
                {
                    using var inner = NewDisposeScope();
                    return Dot(SymmetricPad.Apply(ToTensor(ShapedLike(v, x), layout: layout), kernel, dilation), gyTensor);
                }, Flat(x), coordinates);
                AssertClose(fd, Pick(gx, coordinates), 1e-6, $"finite differences, {context}");
            }
    }
}
