using System.CommandLine;
using EvenConv.Interop;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv export onnx|state-dict`: a checkpoint's model as an ONNX file or a PyTorch state dict (docs/deploying.md).</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var command = new Command("export", "Write a checkpoint's model as an ONNX file (run in ONNX Runtime to check it) or as PyTorch weights.");
        command.Subcommands.Add(Onnx());
        command.Subcommands.Add(StateDict());
        return command;
    }

    private static Option<string> CheckpointOption() => new("--checkpoint") { Description = "A checkpoint written by `train` or `import` (e.g. RUN/last.ckpt).", Required = true };

    private static Command Onnx()
    {
        var checkpoint = CheckpointOption();
        var output = new Option<string>("--out") { Description = "The .onnx file to write.", Required = true };
        var batch = new Option<int?>("--batch") { Description = "A fixed batch size (default: a dynamic batch axis)." };
        var keepNorm = new Option<bool>("--keep-batch-norm") { Description = "Write every batch norm as a BatchNormalization node instead of folding those after a convolution into it." };
        var dataDir = DataCommand.DataDirectoryOption();
        var command = new Command("onnx", "Write the model as ONNX (opset 17, eval mode; symmetric padding as Split→Pad→Concat→Conv) and report its largest difference from EvenConv in ONNX Runtime.")
            { checkpoint, output, batch, keepNorm, dataDir };
        command.SetAction(parse =>
        {
            using var trained = TrainedClassifier.FromCheckpoint(parse.GetValue(checkpoint)!, parse.GetValue(dataDir));
            var path = parse.GetValue(output)!;
            var check = trained.SaveOnnx(path, parse.GetValue(batch), foldBatchNorm: !parse.GetValue(keepNorm));
            AnsiConsole.MarkupLineInterpolated($"wrote {path}: {trained.Config.Model} {trained.Config.Conv}, input ({(parse.GetValue(batch)?.ToString() ?? "N")}, {trained.Channels}, {trained.Height}, {trained.Width}), {trained.ClassNames.Count} classes, {new FileInfo(path).Length / 1024.0:F0} KiB");
            AnsiConsole.MarkupLineInterpolated($"ONNX Runtime vs EvenConv on a random batch: max |Δlogit| = [bold]{check.MaxAbsError:E2}[/] (logits up to {check.OutputScale:F2}, relative {check.RelativeError:E1})");
            return 0;
        });
        return command;
    }

    private static Command StateDict()
    {
        var checkpoint = CheckpointOption();
        var output = new Option<string>("--out") { Description = "The file to write: .safetensors, or .pt/.pth for torch.load.", Required = true };
        var dataDir = DataCommand.DataDirectoryOption();
        var command = new Command("state-dict", "Write the model's weights as a PyTorch state dict (names as in interop/python's reference modules).")
            { checkpoint, output, dataDir };
        command.SetAction(parse =>
        {
            using var trained = TrainedClassifier.FromCheckpoint(parse.GetValue(checkpoint)!, parse.GetValue(dataDir));
            var path = parse.GetValue(output)!;
            trained.SaveStateDict(path);
            AnsiConsole.MarkupLineInterpolated($"wrote {path}: {trained.Model.state_dict().Count} tensors of {trained.Config.Model} {trained.Config.Conv} ({trained.Channels} input channels, {trained.ClassNames.Count} classes)");
            return 0;
        });
        return command;
    }
}
