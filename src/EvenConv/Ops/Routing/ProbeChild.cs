using System.Globalization;
using System.Runtime.InteropServices;

namespace EvenConv.Ops.Routing;

/// <summary>The child side of <see cref="PrimitiveProbe"/>: reads a case per line on standard input until its end and
/// answers each on standard output with its relative error.</summary>
internal static class ProbeChild
{
    public const string Prefix = "evenconv-probe: ";
    public const string ReadyLine = Prefix + "ready";
    public const string DoneLine = Prefix + "done ";

    public static int Run()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable(PrimitiveProbe.ThreadsVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var threads) && threads > 0)
            TorchSharp.torch.set_num_threads(threads);
        var fault = Environment.GetEnvironmentVariable(PrimitiveProbe.FaultVariable);
        Console.Out.WriteLine(ReadyLine);
        Console.Out.Flush();
        while (Console.In.ReadLine() is { } line)
        {
            var c = ProbeCase.Parse(line);
            if (c.ToString() == fault) DieOfSigfpe();
            var error = c.Run();
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DoneLine}{c} {error:R}"));
            Console.Out.Flush();
        }
        return 0;
    }

    /// <summary>Dies as oneDNN's division by zero kills a process: the runtime's own SIGFPE handler (which turns
    /// faults in managed code into exceptions) is reset first.</summary>
    private static void DieOfSigfpe()
    {
        const int sigfpe = 8;
        _ = signal(sigfpe, 0);
        if (raise(sigfpe) != 0) throw new InvalidOperationException("raise(SIGFPE) failed.");
    }

    [DllImport("libc", EntryPoint = "signal")]
    private static extern nint signal(int signal, nint handler);

    [DllImport("libc", EntryPoint = "raise")]
    private static extern int raise(int signal);
}
