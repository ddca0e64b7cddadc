using System.Collections;
using System.Reflection;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// Frees what a custom autograd backward holds as soon as libtorch would free it for its own ops. In TorchSharp 0.107
/// three things otherwise live until the caller's DisposeScope ends (the end of the training step), each an
/// activation-sized buffer per layer, which in a ResNet-20 training step doubled the C2sp network's peak memory:
/// <list type="bullet">
/// <item>the handle wrapping each incoming gradient, which the backward owns: dispose it when done with it;</item>
/// <item>the handles the backward returns, which libtorch copies (does not take) after the backward has returned: each
/// call releases the previous call's results (<see cref="HandOver"/>, <see cref="ReleaseHandedOver"/>);</item>
/// <item>the tensors saved for backward: TorchSharp's node has no <c>release_variables</c>, so they stay with the
/// graph; <see cref="ReleaseSaved"/> resets them when the running backward does not keep the graph, as libtorch's
/// engine does for built-in nodes (a second backward then fails with libtorch's own "backward through the graph a
/// second time" error, as in PyTorch).</item>
/// </list>
/// </summary>
internal static class BackwardTensors
{
    [ThreadStatic] private static List<Tensor>? handedOver;

    /// <summary>Disposes the gradients the previous custom backward on this thread returned. Call at the start of a
    /// backward or forward of a custom function: libtorch has copied them by then.</summary>
    public static void ReleaseHandedOver()
    {
        if (handedOver is not { Count: > 0 } list) return;
        foreach (var t in list) t.Dispose();
        list.Clear();
    }

    /// <summary>The backward's result list; its tensors are disposed by the next <see cref="ReleaseHandedOver"/>.</summary>
    public static List<Tensor> HandOver(params Tensor?[] gradients)
    {
        handedOver ??= [];
        foreach (var g in gradients)
            if (g is not null) handedOver.Add(g);
        return [.. gradients.Select(g => g!)];
    }

    /// <summary>Called at the end of a backward: frees the tensors <paramref name="context"/> saved for it unless the
    /// running backward keeps the graph (<c>retain_graph</c>). Does nothing where libtorch's query or TorchSharp's
    /// internals cannot be reached (correct, just more memory).</summary>
    public static void ReleaseSaved(autograd.AutogradContext context)
    {
        if (ResetData is null || KeepGraph() ||
            SavedVariablesField?.GetValue(context) is not IList saved) return;
        foreach (var variable in saved) ResetData.Invoke(variable, null);
    }

    private static readonly FieldInfo? SavedVariablesField =
        typeof(autograd.AutogradContext).GetField("_savedVariables", BindingFlags.NonPublic | BindingFlags.Instance);

    private static readonly MethodInfo? ResetData =
        SavedVariablesField?.FieldType.GetGenericArguments().FirstOrDefault()?.GetMethod("reset_data", BindingFlags.Public | BindingFlags.Instance);

    private static unsafe bool KeepGraph() =>
        LibTorchExports.CurrentGraphTaskKeepGraph == null || LibTorchExports.CurrentGraphTaskKeepGraph() != 0;
}
