using System.Globalization;
using EvenConv.Layers;

namespace EvenConv.Plotting;

/// <summary>An opaque RGB colour, independent of the drawing library.</summary>
public readonly record struct PlotColor(byte R, byte G, byte B)
{
    /// <summary>Parses "#rrggbb" or "rrggbb".</summary>
    public static PlotColor FromHex(string hex)
    {
        var s = hex.TrimStart('#');
        if (s.Length != 6 || !int.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"'{hex}' is not a colour: use #rrggbb, e.g. #1f77b4.");
        return new((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    /// <summary>"#rrggbb".</summary>
    public string Hex => $"#{R:x2}{G:x2}{B:x2}";

    public override string ToString() => Hex;
}

/// <summary>
/// The one colour per kernel kind used by every figure, after the paper's poster (C5 magenta, C4 black, C4sp cyan,
/// C3 red, C2 green, C2sp blue); other kinds and unnamed series take the <see cref="Palette"/> in order.
/// </summary>
public static class KindColors
{
    private static readonly Dictionary<ConvKind, PlotColor> Poster = new()
    {
        [ConvKind.C5] = PlotColor.FromHex("#d62fd6"),
        [ConvKind.C4] = PlotColor.FromHex("#000000"),
        [ConvKind.C4sp] = PlotColor.FromHex("#17becf"),
        [ConvKind.C3] = PlotColor.FromHex("#e31a1c"),
        [ConvKind.C2] = PlotColor.FromHex("#2ca02c"),
        [ConvKind.C2sp] = PlotColor.FromHex("#1f50d0"),
    };

    /// <summary>Distinct colours for series that are not kernel kinds (and for kinds the poster does not show).</summary>
    public static IReadOnlyList<PlotColor> Palette { get; } =
        new[] { "#ff7f0e", "#8c564b", "#9467bd", "#7f7f7f", "#bcbd22", "#e377c2", "#1f77b4", "#98df8a" }
            .Select(PlotColor.FromHex).ToArray();

    /// <summary>The colour of <paramref name="kind"/>: the poster's for its six kinds, else a stable palette entry.</summary>
    public static PlotColor For(ConvKind kind) =>
        Poster.TryGetValue(kind, out var c) ? c : Palette[(kind.KernelSize * 2 + (kind.IsSymmetric ? 1 : 0)) % Palette.Count];

    /// <summary>Display label of a kind as the paper writes it: "C2sp", "C3".</summary>
    public static string Label(ConvKind kind) => "C" + kind.ToString()[1..];
}
