using EvenConv.Layers;

namespace EvenConv.Tests.Layers;

/// <summary>Theory data shared by the layer tests.</summary>
internal static class ConvKinds
{
    /// <summary>Every kind the issue names: odd C1…C7, plain even C2/C4/C6, symmetric C2sp/C4sp/C6sp.</summary>
    public static readonly string[] All = ["c1", "c2", "c2sp", "c3", "c4", "c4sp", "c5", "c6", "c6sp", "c7"];

    /// <summary>Stride 1, and stride 2 in both modes.</summary>
    public static readonly (int Stride, StrideMode Mode)[] Strides = [(1, StrideMode.Strided), (2, StrideMode.Strided), (2, StrideMode.Pool)];

    public static TheoryData<string> Kinds() => new(All);

    public static TheoryData<string, int, StrideMode> KindsAndStrides()
    {
        var data = new TheoryData<string, int, StrideMode>();
        foreach (var kind in All)
            foreach (var (stride, mode) in Strides)
                data.Add(kind, stride, mode);
        return data;
    }
}
