using EvenConv.Ops.Kernels;
using static TorchSharp.torch;

namespace EvenConv.Tests.Ops;

public class LibTorchThreadsTests
{
    [Theory, InlineData(1), InlineData(2), InlineData(7)]
    public void Runs_every_index_exactly_once(int count)
    {
        using var _ = ones(1);   // libtorch (and its OpenMP runtime) loaded
        var visits = new int[count];
        LibTorchThreads.For(count, i => Interlocked.Increment(ref visits[i]));
        Assert.All(visits, v => Assert.Equal(1, v));
    }

    [Fact]
    public void An_exception_in_the_body_reaches_the_caller()
    {
        var e = Assert.Throws<InvalidOperationException>(() => LibTorchThreads.For(4, i =>
        {
            if (i == 2) throw new InvalidOperationException("index 2");
        }));
        Assert.Equal("index 2", e.Message);
    }
}
