using EvenConv.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

/// <summary>Models for the interop tests, with batch-norm statistics and affine parameters away from their initial
/// 0/1 so that a batch norm written wrongly (or a fold with the wrong sign) shows in the outputs.</summary>
internal static class InteropModels
{
    public static T WithRandomStatistics<T>(T model, long seed = 7) where T : nn.Module
    {
        using var _ = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var (_, m) in model.named_modules())
        {
            if (m is not BatchNorm2d bn) continue;
            var c = bn.running_mean!.shape[0];
            bn.running_mean!.copy_(randn(c, generator: generator) * 0.2);
            bn.running_var!.copy_(rand(c, generator: generator) + 0.5);
            bn.weight!.copy_(randn(c, generator: generator) * 0.2 + 1);
            bn.bias!.copy_(randn(c, generator: generator) * 0.2);
        }
        return model;
    }
}
