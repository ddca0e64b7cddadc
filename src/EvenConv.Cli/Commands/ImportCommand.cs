using System.CommandLine;
using EvenConv.Interop;
using EvenConv.Layers;
using EvenConv.Training;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv import`: PyTorch weights into an EvenConv checkpoint (docs/deploying.md).</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var weights = new Option<string>("--weights") { Description = "A PyTorch state dict: .safetensors, or .pt/.pth written by torch.save(model.state_dict()).", Required = true };
        var model = new Option<string>("--model") { Description = "The model the weights are for (see `models list`), e.g. resnet20.", Required = true };
        var conv = new Option<string>("--conv") { Description = "Its spatial kernel kind, e.g. c2sp.", Required = true };
        var data = new Option<string>("--data") { Description = "The data set it classifies (input channels, size, classes, normalisation).", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = DataCommand.DataDirectoryOption();
        var output = new Option<string>("--out") { Description = "The checkpoint to write (for eval, export).", Required = true };
        var command = new Command("import", "Load PyTorch weights into an EvenConv model, strictly (every key, no other, same shapes), and write a checkpoint.")
            { weights, model, conv, data, dataDir, output };
        command.SetAction(parse =>
        {
            var config = new TrainingConfig { Model = parse.GetValue(model)!, Conv = ConvKind.Parse(parse.GetValue(conv)!).ToString(), Data = parse.GetValue(data)!, DataDirectory = parse.GetValue(dataDir) };
            using var trained = TrainedClassifier.FromStateDict(parse.GetValue(weights)!, config, parse.GetValue(dataDir));
            var path = parse.GetValue(output)!;
            trained.SaveCheckpoint(path);
            AnsiConsole.MarkupLineInterpolated($"wrote {path}: {config.Model} {config.Conv} for {config.Data} with {trained.Model.state_dict().Count} tensors from {parse.GetValue(weights)}");
            return 0;
        });
        return command;
    }
}
