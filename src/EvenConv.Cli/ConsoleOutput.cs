using Spectre.Console;

namespace EvenConv.Cli;

/// <summary>Whether to draw live progress bars (a terminal) or print plain lines (redirected output, CI, logs).</summary>
internal static class ConsoleOutput
{
    public static bool IsInteractive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
}
