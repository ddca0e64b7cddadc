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
/// </summary>
internal static class AutogradOutputCache
{
    private static readonly FieldInfo? NodeField =
        typeof(autograd.AutogradContext).GetField("_node", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>Disposes the cache of the node behind <paramref name="context"/> (a context whose function disabled
    /// grad materialisation); true when it was found and freed.</summary>
    public static bool Release(autograd.AutogradContext context)
    {
        var node = NodeField?.GetValue(context);
        var cacheField = node?.GetType().GetField("_outputCache", BindingFlags.NonPublic | BindingFlags.Instance);
        if (cacheField?.GetValue(node) is not List<Tensor> cache) return false;
        foreach (var t in cache) t?.Dispose();
        cacheField.SetValue(node, null);
        return true;
    }
}
