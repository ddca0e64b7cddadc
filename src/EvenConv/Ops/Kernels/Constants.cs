namespace EvenConv.Ops.Kernels;

/// <summary>
/// A compile-time integer for generic kernels: a method generic over a struct implementing this is compiled once per
/// struct, with <see cref="Value"/> folded to a constant, so tile sizes and channel counts become immediate offsets
/// and unrolled branches instead of runtime multiplications.
/// </summary>
internal interface IConst
{
    static abstract int Value { get; }
}

#pragma warning disable CA1812 // used only as generic arguments
internal readonly struct C1 : IConst { public static int Value => 1; }
internal readonly struct C2 : IConst { public static int Value => 2; }
internal readonly struct C3 : IConst { public static int Value => 3; }
internal readonly struct C4 : IConst { public static int Value => 4; }
internal readonly struct C5 : IConst { public static int Value => 5; }
internal readonly struct C6 : IConst { public static int Value => 6; }
internal readonly struct C7 : IConst { public static int Value => 7; }
internal readonly struct C8 : IConst { public static int Value => 8; }
internal readonly struct C9 : IConst { public static int Value => 9; }
internal readonly struct C10 : IConst { public static int Value => 10; }
internal readonly struct C11 : IConst { public static int Value => 11; }
internal readonly struct C12 : IConst { public static int Value => 12; }
internal readonly struct C13 : IConst { public static int Value => 13; }
internal readonly struct C14 : IConst { public static int Value => 14; }
internal readonly struct C15 : IConst { public static int Value => 15; }
internal readonly struct C16 : IConst { public static int Value => 16; }
internal readonly struct C17 : IConst { public static int Value => 17; }
internal readonly struct C32 : IConst { public static int Value => 32; }
internal readonly struct C48 : IConst { public static int Value => 48; }
internal readonly struct C64 : IConst { public static int Value => 64; }
#pragma warning restore CA1812
