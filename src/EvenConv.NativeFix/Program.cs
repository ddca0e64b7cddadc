using EvenConv.NativeFix;

// Build step: `dotnet EvenConv.NativeFix.dll <output folder>...` patches libLibTorchSharp.so in each folder when
// the host's libstdc++ needs it. Exit code 0 on success, 1 with a message when the fix cannot apply.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: EvenConv.NativeFix <build output folder>...");
    return 2;
}
try
{
    foreach (var dir in args)
        foreach (var (path, outcome) in LibTorchSharpFix.EnsureOutputFolder(dir))
            if (outcome == FixOutcome.Patched)
                Console.WriteLine($"EvenConv.NativeFix: marked GLIBCXX needs missing on this host weak in {path}");
    return 0;
}
catch (Exception e) when (e is NativeFixException or ElfFormatException or IOException)
{
    Console.Error.WriteLine($"EvenConv.NativeFix: error: {e.Message}");
    return 1;
}
