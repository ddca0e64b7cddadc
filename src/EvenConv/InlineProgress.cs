namespace EvenConv;

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread, in order. (The BCL's <c>Progress&lt;T&gt;</c>
/// posts to the thread pool when there is no synchronisation context, as in a console program, so reports can arrive
/// late and out of order.)</summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
