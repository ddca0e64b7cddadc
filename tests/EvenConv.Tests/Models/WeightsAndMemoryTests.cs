using EvenConv.IO;
using EvenConv.Complexity;
using EvenConv.Layers;
using EvenConv.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Tests.Models;

public class WeightsAndMemoryTests
{
    [Fact]
    public void Weights_file_round_trips_and_rejects_another_architecture()
    {
        var path = Path.Combine(Path.GetTempPath(), $"evenconv-weights-{Guid.NewGuid():N}.dat");
        try
        {
            var options = new ModelOptions(ConvKind.C2sp, NumClasses: 3, InputHeight: 8, InputWidth: 8);
            using var a = ModelRegistry.Create("resnet20", options);
            using var b = ModelRegistry.Create("resnet20", options);
            ModuleState.Save(a, path);
            ModuleState.Load(b, path);
            foreach (var ((name, pa), (_, pb)) in a.state_dict().Zip(b.state_dict()))
                Assert.True(pa.allclose(pb, rtol: 0, atol: 0), name);

            using var other = ModelRegistry.Create("resnet20", options with { Conv = ConvKind.C3 });
            var e = Assert.Throws<EvenConvException>(() => ModuleState.Load(other, path));
            Assert.Contains("options it was trained with", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Training_step_peak_grows_with_the_batch()
    {
        var options = new ModelOptions(ConvKind.C3, InputHeight: 16, InputWidth: 16);
        using var model = ModelRegistry.Create("resnet20", options);
        var small = TrainingMemory.MeasureStep(model, options, 2);
        var large = TrainingMemory.MeasureStep(model, options, 64);
        Assert.True(large.PeakIsIsolated, "the peak counter could not be reset on this Linux machine");
        // Activations alone: the authors' estimate per image at 16×16 is a quarter of the 32×32 one (~2.1 MiB for ResNet-20 C3).
        var estimate = ModelComplexity.Count(model, options).ActivationBytesPerImage * 64L;
        Assert.True(large.StepPeakBytes > small.StepPeakBytes, $"batch 64: {large.StepPeakBytes} B, batch 2: {small.StepPeakBytes} B");
        Assert.True(large.StepPeakBytes > estimate / 2, $"batch 64 peak {large.StepPeakBytes} B is below half the activation estimate {estimate} B");
    }
}
