using System.Diagnostics;
using EvenConv.Interop.PyTorch;
using EvenConv.Layers;
using EvenConv.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EvenConv.Tests.Interop;

/// <summary>
/// ResNet-20 C2sp and C4sp between EvenConv and a real PyTorch (Debian's python3-torch 1.13, /usr/bin/python3) with
/// the reference modules of interop/python: EvenConv's weights in PyTorch, and PyTorch's weights in EvenConv, give the
/// same logits. The reference pads the channel groups with its own table of the authors' corners, so this also pins
/// what the weights mean.
/// </summary>
public class PyTorchPeerTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Two float32 implementations through 20 layers (different summation orders): measured ≤ 1e-6 relative.</summary>
    private const double RelativeTolerance = 1e-5;

    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> Unavailable = new(FindTorch);
    private readonly string _dir = Directory.CreateTempSubdirectory("evenconv-pytorch-").FullName;

    private static readonly ModelOptions Options = new(ConvKind.C2sp, 3, 10, 32, 32);

    [SkippableTheory]
    [InlineData("c2sp", ".safetensors")]
    [InlineData("c4sp", ".pt")]
    public void EvenConv_weights_give_the_same_logits_in_pytorch(string kind, string extension)
    {
        Skip.If(Unavailable.Value is not null, Unavailable.Value);
        using var model = InteropModels.WithRandomStatistics(ModelRegistry.Create("resnet20", Options with { Conv = ConvKind.Parse(kind) }));
        var weights = Path.Combine(_dir, "evenconv" + extension);
        StateDictFile.Save(model, weights);
        Compare(model, kind, weights);
    }

    [SkippableTheory]
    [InlineData("c2sp", ".pt")]
    [InlineData("c4sp", ".safetensors")]
    public void PyTorch_weights_give_the_same_logits_in_evenconv(string kind, string extension)
    {
        Skip.If(Unavailable.Value is not null, Unavailable.Value);
        var weights = Path.Combine(_dir, "pytorch" + extension);
        RunPython("init", "--out", weights, "--seed", "5", "--conv", kind);
        using var model = ModelRegistry.Create("resnet20", Options with { Conv = ConvKind.Parse(kind) });
        StateDictFile.Load(model, weights);
        Compare(model, kind, weights);
    }

    /// <summary>The model's eval-mode logits in EvenConv and, from <paramref name="weights"/>, in PyTorch.</summary>
    private void Compare(nn.Module<Tensor, Tensor> model, string kind, string weights)
    {
        using var input = randn([2, 3, 32, 32], generator: new Generator(9));
        var inputPath = Path.Combine(_dir, "input.safetensors");
        var logitsPath = Path.Combine(_dir, "logits.safetensors");
        Safetensors.SaveStateDict(inputPath, new Dictionary<string, Tensor> { ["input"] = input });
        RunPython("logits", "--weights", weights, "--input", inputPath, "--out", logitsPath, "--conv", kind);
        var read = StateDictFile.Read(logitsPath);
        using var theirs = read["logits"];
        model.eval();
        using var _ = inference_mode();
        using var ours = model.call(input);
        var error = (ours - theirs).abs().max().item<float>();
        var scale = theirs.abs().max().item<float>();
        output.WriteLine($"resnet20 {kind} ({Path.GetExtension(weights)}): max |PyTorch − EvenConv| = {error:E2}, logits up to {scale:F3}, relative {error / scale:E2}");
        Assert.Equal([2, 10], theirs.shape);
        Assert.True(scale > 1e-2, "logits all near zero: the comparison would prove nothing");
        Assert.True(error <= RelativeTolerance * scale, $"max |PyTorch − EvenConv| = {error:E3} at logits up to {scale:F3}");
    }

    private void RunPython(params string[] arguments)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot(), "interop", "python", "evenconv_torch.py"));
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"evenconv_torch.py {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{stdout}{stderr.Result}");
    }

    /// <summary>Null when /usr/bin/python3 imports torch, else why the tests skip.</summary>
    private static string? FindTorch()
    {
        if (!File.Exists(Python)) return $"{Python} not found (install python3-torch: apt-get install python3-torch)";
        var info = new ProcessStartInfo(Python, ["-c", "import torch"]) { RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"{Python} cannot import torch (install python3-torch): {error.Trim().Split('\n')[^1]}";
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", ".."));

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
