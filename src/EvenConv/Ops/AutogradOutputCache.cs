using System.Reflection;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// Frees the per-call cache TorchSharp 0.107 keeps for every custom autograd Function: <c>Node.WrapOutputs</c> stores
/// an <c>empty_like(output)</c> per output for the node's whole lifetime, only to materialise zero gradients for
/// outputs that get none. For a convolution that is a second output-sized buffer held until backward — as much
/// memory as the whole saving of recomputing the padding. Functions that call
/// <c>ctx.set_materialize_grads(false)</c> never read the cache, so it can go. This reaches the private field by
/// reflection; on a TorchSharp whose internals differ it does nothing (correct, just more memory).
/// Use: <see cref="DropAfterApply"/> inside the function's forward, <see cref="ReleasePending"/> right after
/// <c>apply</c> returns (the cache is made after forward).
/// </summary>
internal static class AutogradOutputCache
{
    [ThreadStatic] private static autograd.AutogradContext? pending;

    /// <summary>Called in a custom function's forward: turns grad materialisation off for it (its backward must then
    /// accept an undefined gradient) and marks its cache for <see cref="ReleasePending"/>.</summary>
    public static void DropAfterApply(autograd.AutogradContext context)
    {
        context.set_materialize_grads(false);
        pending = context;
    }

    /// <summary>Frees the cache of the function last marked on this thread by <see cref="DropAfterApply"/>.</summary>
    public static void ReleasePending()
    {
        if (pending is { } context) Release(context);
        pending = null;
    }

    private static readonly FieldInfo? NodeField =
        typeof(autograd.AutogradContext).GetField("_node", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>Disposes the cache of the node behind <paramref name="context"/> (a context whose function disabled
    /// grad materialisation); true when it was found and freed.</summary>
    private static bool Release(autograd.AutogradContext context)
    {
        var node = NodeField?.GetValue(context);
        var cacheField = node?.GetType().GetField("_outputCache", BindingFlags.NonPublic | BindingFlags.Instance);
        if (cacheField?.GetValue(node) is not List<Tensor> cache) return false;
        foreach (var t in cache) t?.Dispose();
        cacheField.SetValue(node, null);
        return true;
    }
}
