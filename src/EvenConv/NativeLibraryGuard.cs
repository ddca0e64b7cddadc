using System.Runtime.CompilerServices;
using EvenConv.NativeFix;

namespace EvenConv;

/// <summary>
/// Runs the libstdc++ compatibility fix for TorchSharp's native library (README, "Native library fix") when
/// EvenConv is loaded, before any tensor is made. The build step already patches the outputs of this repository's
/// projects; this covers any application that references the EvenConv library, however it was built.
/// </summary>
internal static class NativeLibraryGuard
{
#pragma warning disable CA2255 // A library module initializer is the point: it must run before TorchSharp loads its native code.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void EnsureTorchSharpLoads()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("EVENCONV_SKIP_NATIVE_FIX") == "1") return;
        try
        {
            LibTorchSharpFix.EnsureOutputFolder(AppContext.BaseDirectory);
        }
        catch (Exception e) when (e is NativeFixException or ElfFormatException or IOException)
        {
            // TorchSharp's own load error follows if the library really cannot load; say why first.
            Console.Error.WriteLine($"EvenConv: could not make {LibTorchSharpFix.LibraryName} loadable: {e.Message}");
        }
    }
}
