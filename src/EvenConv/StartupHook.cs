using EvenConv.Ops.Routing;

/// <summary>
/// .NET runs this before an application's <c>Main</c> when <c>DOTNET_STARTUP_HOOKS</c> names the EvenConv assembly.
/// <see cref="PrimitiveProbe"/> starts its probe children that way: the child serves probe cases and exits, so the
/// application's own code never runs in it. Without the probe's variable the hook does nothing.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable(PrimitiveProbe.ChildVariable) == "1")
            Environment.Exit(ProbeChild.Run());
    }
}
