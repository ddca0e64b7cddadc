using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Analysis;

/// <summary>
/// Gives a freshly initialised network meaningful batch-norm running statistics for an analysis, and puts everything
/// back afterwards. A fresh network's running statistics are (0, 1), so in eval mode nothing is normalised and deep
/// activations grow by an order of magnitude per layer until they overflow; a trained network needs none of this.
/// </summary>
public sealed class BatchNormCalibration : IDisposable
{
    private readonly List<(Tensor Buffer, Tensor Copy)> _buffers;
    private readonly List<(BatchNorm Norm, double? Momentum)> _momenta;

    private BatchNormCalibration(nn.Module model)
    {
        using var _ = no_grad();
        _buffers = model.buffers().Select(b => (b, b.detach().clone().DetachFromDisposeScope())).ToList();
        _momenta = model.modules().OfType<BatchNorm>().Select(n => (n, n.momentum)).ToList();
    }

    /// <summary>
    /// Replaces the running statistics of every batch norm in <paramref name="model"/> by the average batch
    /// statistics of <paramref name="passes"/> batches from <paramref name="nextBatch"/> (train-mode forward passes
    /// without gradients). Dispose the result to restore the statistics and momenta.
    /// </summary>
    public static BatchNormCalibration Calibrate(nn.Module<Tensor, Tensor> model, Func<Tensor> nextBatch, int passes = 8)
    {
        if (passes < 1) throw new ArgumentOutOfRangeException(nameof(passes), passes, "Calibrate with at least one batch.");
        var calibration = new BatchNormCalibration(model);
        var wasTraining = model.training;
        using (no_grad())
        {
            foreach (var (norm, _) in calibration._momenta)
            {
                norm.momentum = null;   // cumulative average over the passes
                norm.reset_running_stats();
            }
            model.train();
            for (var i = 0; i < passes; i++)
            {
                using var scope = NewDisposeScope();
                model.call(nextBatch());
            }
        }
        model.train(wasTraining);
        return calibration;
    }

    /// <summary>Restores the statistics and momenta. Call only after every gradient through the calibrated model has
    /// been computed.</summary>
    public void Dispose()
    {
        using var _ = no_grad();
        foreach (var (buffer, copy) in _buffers)
        {
            buffer.copy_(copy);
            copy.Dispose();
        }
        foreach (var (norm, momentum) in _momenta) norm.momentum = momentum;
        _buffers.Clear();
    }
}
