namespace EvenConv;

/// <summary>A per-thread switch, on for the lifetime of a scope: for the "take the other route here" settings of
/// benchmarks and tests, which must not change what other threads of the process do (a CPU backward runs on the thread
/// that called it, so a scope around forward and backward covers both). Switches are static and live as long as the
/// process.</summary>
internal sealed class ThreadSwitch : IDisposable
{
    private readonly ThreadLocal<bool> _on = new();

    public bool IsOn => _on.Value;

    /// <summary>Turns the switch on for this thread until the result is disposed; scopes nest.</summary>
    public IDisposable TurnOn()
    {
        var previous = _on.Value;
        _on.Value = true;
        return new Scope(this, previous);
    }

    public void Dispose() => _on.Dispose();

    private sealed class Scope(ThreadSwitch owner, bool previous) : IDisposable
    {
        public void Dispose() => owner._on.Value = previous;
    }
}
