using System.Runtime.InteropServices;
using EvenConv.Models;
using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Complexity;

/// <summary>Measured memory of one training step.</summary>
/// <param name="BatchSize">Images in the measured step.</param>
/// <param name="StateBytes">Resident memory before the step, after a warm-up step of one image: the process, the model,
/// its gradients and the optimizer's momentum.</param>
/// <param name="StepPeakBytes">Peak resident memory during the step above <paramref name="StateBytes"/>: activations kept
/// for the backward pass, gradients in flight and temporaries.</param>
/// <param name="PeakIsIsolated">True when the kernel's peak counter could be reset before the step, so the peak is this
/// step's; false when it is the process's peak so far (an upper bound).</param>
public sealed record TrainingMemoryReport(int BatchSize, long StateBytes, long StepPeakBytes, bool PeakIsIsolated)
{
    /// <summary><see cref="StepPeakBytes"/> per image.</summary>
    public double StepPeakBytesPerImage => (double)StepPeakBytes / BatchSize;
}

/// <summary>
/// Measures the peak memory of a training step (forward, cross-entropy, backward, SGD-momentum update) as the operating
/// system sees it. Why this is a measurement of the step and not of the process history: a warm-up step of one image
/// first creates the gradients, momentum buffers and libtorch's lazily initialised kernels; then the allocator's cached
/// free memory is returned to the system (tcmalloc's <c>MallocExtension_ReleaseFreeMemory</c>, or glibc's
/// <c>malloc_trim</c>), the kernel's high-water mark is reset (<c>/proc/self/clear_refs</c>, "5"), and the step runs.
/// Every page the step touches is then counted in VmHWM. The result includes allocator overhead and fragmentation, as a
/// GPU memory figure would; compare models measured the same way, and run heavy comparisons one model per process.
/// </summary>
public static class TrainingMemory
{
    /// <summary>Measures one training step of <paramref name="model"/> on a random batch shaped by <paramref name="options"/>.
    /// Leaves the model in training mode with updated weights; use a fresh model for anything else.</summary>
    public static TrainingMemoryReport MeasureStep(nn.Module<Tensor, Tensor> model, ModelOptions options, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        options.Validate();
        model.train();
        using var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        Step(model, optimizer, options, 1);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        ReleaseCachedMemory();
        var isolated = ResetPeakResident();
        var before = Runtime.ResidentBytes();
        Step(model, optimizer, options, batchSize);
        var peak = Runtime.PeakResidentBytes();
        return new TrainingMemoryReport(batchSize, before, Math.Max(0, peak - before), isolated);
    }

    private static void Step(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, ModelOptions options, int batchSize)
    {
        using var scope = NewDisposeScope();
        var x = TensorLayout.To(randn(batchSize, options.InChannels, options.InputHeight, options.InputWidth), TensorLayout.Default);
        var y = randint(0, options.NumClasses, [batchSize]);
        optimizer.zero_grad();
        var loss = F.cross_entropy(model.call(x), y);
        loss.backward();
        optimizer.step();
    }

    /// <summary>Resets VmHWM to the current RSS (Linux ≥ 4.0); false where that is not possible.</summary>
    private static bool ResetPeakResident()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Returns the allocator's cached free pages to the system so that re-touching them counts again.</summary>
    private static unsafe void ReleaseCachedMemory()
    {
        var main = NativeLibrary.GetMainProgramHandle();
        if (NativeLibrary.TryGetExport(main, "MallocExtension_ReleaseFreeMemory", out var tcmalloc))
            ((delegate* unmanaged<void>)tcmalloc)();
        else if (NativeLibrary.TryGetExport(main, "malloc_trim", out var trim))
            _ = ((delegate* unmanaged<nuint, int>)trim)(0);
    }
}
