using EvenConv.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

/// <summary>
/// The channel-group order of symmetric padding is part of what C2sp weights mean in every framework (docs/deploying.md):
/// groups padded bottom+right, top+left, bottom+left, top+right (the authors' TensorFlow code), the first C % 4 groups one
/// channel larger. A depthwise 2×2 all-ones C2sp on a 2×2 all-ones input sums the pixels each window sees, so each output
/// channel shows the corner its group was padded towards.
/// </summary>
public class ChannelGroupOrderTests
{
    private static readonly float[] BottomRight = [4, 2, 2, 1], TopLeft = [1, 2, 2, 4], BottomLeft = [2, 4, 1, 2], TopRight = [2, 1, 4, 2];

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(7)]
    public void Each_group_is_padded_towards_the_authors_corner(int channels)
    {
        using var conv = Conv.Create(new ConvSpec(channels, channels, ConvKind.C2sp, Groups: channels));
        using (no_grad()) conv.Weight.fill_(1);
        conv.eval();
        using var _ = inference_mode();
        using var y = conv.call(ones(1, channels, 2, 2)).contiguous();
        // Group sizes: 4 → 1,1,1,1; 5 → 2,1,1,1; 7 → 2,2,2,1.
        var corners = channels switch
        {
            4 => new[] { BottomRight, TopLeft, BottomLeft, TopRight },
            5 => [BottomRight, BottomRight, TopLeft, BottomLeft, TopRight],
            _ => [BottomRight, BottomRight, TopLeft, TopLeft, BottomLeft, BottomLeft, TopRight],
        };
        for (var c = 0; c < channels; c++)
            Assert.Equal(corners[c], y[0, c].flatten().data<float>().ToArray());
    }
}
