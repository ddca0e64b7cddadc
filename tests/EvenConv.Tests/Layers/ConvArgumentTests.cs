using EvenConv.Layers;
using EvenConv.Ops;
using static TorchSharp.torch;

namespace EvenConv.Tests.Layers;

public class ConvArgumentTests
{
    [Theory, InlineData(1), InlineData(3), InlineData(5)]
    public void An_odd_kernel_refuses_symmetric_padding_and_names_the_valid_kinds(int k)
    {
        var e = Assert.Throws<ArgumentException>(() => new ConvKind(k, PaddingScheme.Symmetric));
        Assert.Equal("scheme", e.ParamName);
        Assert.Contains($"Kernel size {k} is odd", e.Message);
        Assert.Contains($"\"c{k}\"", e.Message);
        Assert.Contains("c2sp", e.Message);

        var parse = Assert.Throws<FormatException>(() => ConvKind.Parse($"c{k}sp"));
        Assert.Contains($"'c{k}sp'", parse.Message);
        Assert.Contains("even kernels", parse.Message);
        Assert.Contains($"Use c{k}, or c{k - 1}sp / c{k + 1}sp", parse.Message);
    }

    [Fact]
    public void An_even_kernel_cannot_be_centred_and_a_kernel_needs_a_size()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConvKind(4, PaddingScheme.Centered));
        Assert.Equal("scheme", e.ParamName);
        Assert.Contains("\"c4\"", e.Message);
        Assert.Contains("\"c4sp\"", e.Message);
        Assert.Equal("kernelSize", Assert.Throws<ArgumentOutOfRangeException>(() => new ConvKind(0, PaddingScheme.Same)).ParamName);
    }

    [Theory]
    [InlineData(""), InlineData("conv3"), InlineData("c"), InlineData("c0"), InlineData("c16"), InlineData("3"), InlineData("csp"),
     InlineData("c2 sp"), InlineData("c+2"), InlineData("c-2"), InlineData("c2spsp"), InlineData("d3")]
    public void Unparsable_kinds_are_refused_with_the_accepted_forms(string text)
    {
        var e = Assert.Throws<FormatException>(() => ConvKind.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.Contains("c<k>", e.Message);
        Assert.Contains("c2sp", e.Message);
        Assert.False(ConvKind.TryParse(text, out _, out var error));
        Assert.Equal(e.Message, error);
        Assert.False(ConvKind.TryParse(null, out _, out _));
    }

    [Theory]
    [InlineData("c3", "c3"), InlineData("C2SP", "c2sp"), InlineData(" c4sp ", "c4sp"), InlineData("c6", "c6"), InlineData("c1", "c1")]
    public void Kinds_parse_case_insensitively_and_print_as_in_the_paper(string text, string printed)
    {
        Assert.Equal(printed, ConvKind.Parse(text).ToString());
        Assert.Equal([ConvKind.C2, ConvKind.C2sp, ConvKind.C3], ConvKind.ParseList("c2, c2sp,,c3"));
    }

    [Fact]
    public void Groups_must_divide_both_channel_counts_and_the_message_lists_the_divisors()
    {
        var e = Assert.Throws<ArgumentException>(() => Conv.Create("c3", 6, 4, groups: 4));
        Assert.Equal("Groups", e.ParamName);
        Assert.Contains("groups=4 must divide both in_channels=6 and out_channels=4", e.Message);
        Assert.Contains("common divisors (1, 2)", e.Message);
    }

    [Theory]
    [InlineData("Stride", "stride must be at least 1")]
    [InlineData("Dilation", "dilation must be at least 1")]
    [InlineData("Groups", "groups must be at least 1")]
    [InlineData("InChannels", "in_channels must be at least 1")]
    [InlineData("OutChannels", "out_channels must be at least 1")]
    public void Non_positive_sizes_are_refused_by_name(string argument, string message)
    {
        var spec = new ConvSpec(4, 4, ConvKind.C2sp);
        spec = argument switch
        {
            "Stride" => spec with { Stride = 0 },
            "Dilation" => spec with { Dilation = 0 },
            "Groups" => spec with { Groups = 0 },
            "InChannels" => spec with { InChannels = 0 },
            _ => spec with { OutChannels = -1 },
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Conv.Create(spec));
        Assert.Equal(argument, e.ParamName);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void An_unset_kind_or_stride_mode_is_refused()
    {
        Assert.Equal("Kind", Assert.Throws<ArgumentException>(() => Conv.Create(new ConvSpec(4, 4, default))).ParamName);
        var mode = Assert.Throws<ArgumentOutOfRangeException>(() => Conv.Create(new ConvSpec(4, 4, ConvKind.C3, StrideMode: (StrideMode)7)));
        Assert.Contains("Strided or Pool", mode.Message);
    }

    [Theory]
    [InlineData(new long[] { 5, 8, 8 }, "expected a 4-D (N, C, H, W) input, got shape [5, 8, 8]")]
    [InlineData(new long[] { 1, 4, 8, 8 }, "expected 5 input channels, got 4")]
    [InlineData(new long[] { 1, 5, 0, 8 }, "empty spatial size 0×8")]
    public void Wrong_inputs_are_refused_with_the_expected_and_actual_shape(long[] shape, string message)
    {
        using var conv = Conv.Create("c2sp", 5, 3);
        using var x = zeros(shape);
        var e = Assert.Throws<ArgumentException>(() => conv.call(x));
        Assert.Equal("input", e.ParamName);
        Assert.Contains(message, e.Message);
        Assert.Contains("c2sp", e.Message);
    }

    [Fact]
    public void Symmetric_padding_refuses_odd_kernels_bad_dilation_and_non_4d_input()
    {
        using var x = zeros(1, 4, 3, 3);
        var odd = Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricPad.Apply(x, 3));
        Assert.Equal("kernelSize", odd.ParamName);
        Assert.Contains("even kernel sizes (2, 4, 6, ...)", odd.Message);
        Assert.Equal("dilation", Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricPad.Apply(x, 2, 0)).ParamName);
        using var flat = zeros(4, 3, 3);
        Assert.Contains("4-D (N, C, H, W)", Assert.Throws<ArgumentException>(() => SymmetricPad.Apply(flat, 2)).Message);
    }
}
