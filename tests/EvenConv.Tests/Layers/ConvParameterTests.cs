using EvenConv.Layers;
using static TorchSharp.torch;

namespace EvenConv.Tests.Layers;

public class ConvParameterTests
{
    [Theory, MemberData(nameof(ConvKinds.Kinds), MemberType = typeof(ConvKinds))]
    public void Parameters_have_PyTorch_names_and_shapes_and_nothing_else_is_saved(string kind)
    {
        var k = ConvKind.Parse(kind).KernelSize;
        foreach (var bias in new[] { false, true })
        {
            using var conv = Conv.Create(kind, 6, 4, stride: 2, strideMode: StrideMode.Pool, groups: 2, bias: bias);
            string[] expected = bias ? ["weight", "bias"] : ["weight"];
            Assert.Equal(expected, conv.named_parameters().Select(p => p.name));
            Assert.Equal(expected, conv.state_dict().Keys);
            Assert.Empty(conv.named_buffers());
            Assert.Equal([4L, 3, k, k], conv.Weight.shape);
            if (bias) Assert.Equal([4L], conv.Bias!.shape);
            else Assert.Null(conv.Bias);
        }
    }

    [Fact]
    public void State_dict_keys_nest_under_the_name_given_in_a_container()
    {
        using var net = nn.Sequential(("stem", Conv.Create("c3", 3, 8)), ("conv", Conv.Create("c2sp", 8, 8, bias: true)));
        Assert.Equal(["stem.weight", "conv.weight", "conv.bias"], net.state_dict().Keys);
    }

    [Theory]
    [InlineData("c3", 64, 256, 1)]
    [InlineData("c2sp", 128, 256, 1)]
    [InlineData("c4", 32, 256, 4)]
    [InlineData("c2sp", 8192, 8192, 8192)]
    public void Default_init_is_truncated_He_normal_on_fan_in(string kind, int inChannels, int outChannels, int groups)
    {
        using var conv = Conv.Create(kind, inChannels, outChannels, groups: groups);
        var k = conv.Spec.Kind.KernelSize;
        var std = Math.Sqrt(2.0 / (inChannels / groups * k * k));
        var w = conv.Weight.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var mean = w.Average();
        var sampleStd = Math.Sqrt(w.Sum(v => (v - mean) * (v - mean)) / (w.Length - 1));
        // Sampling error of the std over ≥ 32k values is below 0.5 %; the mean's is below 0.6 % of a std.
        Assert.InRange(sampleStd / std, 0.97, 1.03);
        Assert.InRange(Math.Abs(mean) / std, 0, 0.03);
        // Truncated at two standard deviations of the underlying normal (std / 0.8796).
        Assert.InRange(w.Max(Math.Abs), 1.8 * std / 0.8796, 2 * std / 0.8796 * (1 + 1e-6));
    }

    [Fact]
    public void A_custom_initialiser_replaces_the_default()
    {
        long[]? seen = null;
        using var fromSpec = Conv.Create(new ConvSpec(6, 4, ConvKind.C2sp, Groups: 2), w => { seen = w.shape; w.fill_(0.25); });
        Assert.NotNull(seen);
        Assert.Equal([4L, 3, 2, 2], seen);
        Assert.True(fromSpec.Weight.eq(0.25).all().item<bool>());

        using var fromName = Conv.Create("c3", 2, 2, init: w => w.fill_(-1));
        Assert.True(fromName.Weight.eq(-1).all().item<bool>());

        using var pytorch = Conv.Create(new ConvSpec(64, 64, ConvKind.C3), ConvInit.PyTorchDefault);
        var bound = 1 / Math.Sqrt(64 * 9); // kaiming_uniform(a = √5) draws from ±1/√fan_in
        Assert.InRange(pytorch.Weight.abs().max().item<float>(), 0.95 * bound, bound);
    }
}
