using EvenConv.Ops;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Distributed;

/// <summary>
/// Synchronized batch norm (<c>--sync-bn</c>): within an <see cref="Across"/> scope every training-mode batch norm of
/// the models normalises with the statistics of the whole data-parallel step's batch — all ranks' shards — and
/// back-propagates through them (<see cref="ReplicaBatchNorm"/>), so N ranks × B images train exactly like one
/// process on N·B images. It costs two small allreduces per batch norm per step (forward and backward), worth it
/// when the per-rank batch is small. The models call their batch norms through <see cref="Call"/> (and the fused
/// pre-activation op reads <see cref="Current"/>), so any model of the zoo follows the scope. TorchSharp's
/// BatchNorm2d is sealed; this keeps the models' modules, parameters and state-dict names as they are.
/// </summary>
public static class SyncBatchNorm
{
    [ThreadStatic] private static Action<double[]>? current;

    /// <summary>The sum over ranks that this thread's batch norms use, or null outside a scope.</summary>
    public static Action<double[]>? Current => current;

    /// <summary>Synchronizes this thread's training-mode batch norms over the ranks of <paramref name="communicator"/>
    /// until the result is disposed. Every rank must run the same model in the scope (each batch norm is a collective).</summary>
    public static IDisposable Across(ICommunicator communicator)
    {
        var previous = current;
        current = values => communicator.AllreduceSum(values);
        return new Scope(previous);
    }

    /// <summary><c>norm.call(input)</c>, or in training mode within an <see cref="Across"/> scope, batch norm with the whole
    /// batch's statistics.</summary>
    public static Tensor Call(BatchNorm2d norm, Tensor input) =>
        current is { } sum && norm.training && norm.weight is not null && norm.bias is not null
            ? ReplicaBatchNorm.Apply(input, State(norm, sum))
            : norm.call(input);

    /// <summary>The tensors and settings of <paramref name="norm"/> for the training-mode ops, synchronized when a scope is active.</summary>
    public static TrainingNorm State(BatchNorm2d norm, Action<double[]>? sumOverReplicas = null) =>
        new(norm.weight!, norm.bias!, norm.running_mean, norm.running_var, norm.num_batches_tracked, norm.momentum, norm.eps, sumOverReplicas ?? current);

    private sealed class Scope(Action<double[]>? previous) : IDisposable
    {
        public void Dispose() => current = previous;
    }
}
