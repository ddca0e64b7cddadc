using System.Globalization;
using System.Runtime.InteropServices;

namespace EvenConv.Ops.Routing;

/// <summary>The child side of <see cref="PrimitiveProbe"/>: runs the cases named in the environment and reports
/// each on standard output.</summary>
internal static class ProbeChild
{
    public const string ReadyLine = "evenconv-probe: ready";
    public const string DoneLine = "evenconv-probe: done ";

    public static int Run(string cases)
    {
        var list = cases.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(ProbeCase.Parse).ToList();
        if (int.TryParse(Environment.GetEnvironmentVariable(PrimitiveProbe.ThreadsVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var threads) && threads > 0)
            TorchSharp.torch.set_num_threads(threads);
        var fault = Environment.GetEnvironmentVariable(PrimitiveProbe.FaultVariable);
        Console.Out.WriteLine(ReadyLine);
        foreach (var c in list)
        {
            Console.Out.WriteLine($"evenconv-probe: start {c}");
            Console.Out.Flush();
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
