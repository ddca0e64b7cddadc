using EvenConv.Ops;
using EvenConv.Ops.Routing;

namespace EvenConv.Tests.Ops.Routing;

/// <summary>The probe runs convolutions in child processes of this test host and survives their deaths.</summary>
public class PrimitiveProbeTests
{
    [Fact]
    public void A_case_that_kills_its_process_is_recorded_and_the_cases_after_it_still_run()
    {
        var healthy = new ProbeCase(1, 8, 16, 5, 4);
        var dies = new ProbeCase(1, 16, 8, 3, 3, Kernel: 3, Padding: 1);
        var after = new ProbeCase(2, 4, 4, 6, 6, Stride: 2, Layout: MemoryLayout.Nchw, Backward: false);
        var results = PrimitiveProbe.Run([healthy, dies, after], threads: 1,
            extraEnvironment: new Dictionary<string, string> { [PrimitiveProbe.FaultVariable] = dies.ToString() });

        Assert.Equal([healthy, dies, after], results.Select(r => r.Case));
        Assert.Equal([true, false, true], results.Select(r => r.Survived));
        Assert.Equal(["ok", "SIGFPE", "ok"], results.Select(r => r.Verdict));
        Assert.All(new[] { results[0], results[2] }, r => Assert.InRange(r.Error, 0, 1e-5));
    }

    [Theory]
    [InlineData("n1-c512-o1024-s7x7-k1-st1-p0-d1-g1-cl-fwd")]
    [InlineData("n2-c960-o960-s7x9-k3-st2-p1-d2-g960-nchw-bwd")]
    public void Cases_read_back_from_their_text(string text)
    {
        var c = ProbeCase.Parse(text);
        Assert.Equal(text, c.ToString());
    }

    [Theory]
    [InlineData("n1-c512-o1024-s7-k1-st1-p0-d1-g1-cl-fwd", "s<height>x<width>")]
    [InlineData("n0-c512-o1024-s7x7-k1-st1-p0-d1-g1-cl-fwd", "n<positive number>")]
    [InlineData("n1-c512-o1024-s7x7-k1-st1-p0-d1-g1-nhwc-fwd", "cl or nchw")]
    [InlineData("garbage", "expected e.g.")]
    public void Bad_case_text_is_rejected_naming_the_part(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => ProbeCase.Parse(text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Exit_codes_of_signals_are_named() =>
        Assert.Equal(["SIGFPE", "SIGSEGV", "exit code 3"], new[] { 136, 139, 3 }.Select(PrimitiveProbe.Describe));

    [Theory]
    [InlineData("gemm", ConvRoute.Gemm)]
    [InlineData(" OneDNN ", ConvRoute.OneDnn)]
    [InlineData("auto", null)]
    [InlineData("", null)]
    public void Route_names_parse(string text, ConvRoute? expected) => Assert.Equal(expected, ConvRouting.Parse(text));

    [Fact]
    public void An_unknown_route_name_says_which_are_allowed()
    {
        var e = Assert.Throws<EvenConvException>(() => ConvRouting.Parse("mkl"));
        Assert.Contains("onednn, gemm or auto", e.Message, StringComparison.Ordinal);
    }
}
