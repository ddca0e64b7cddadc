using System.CommandLine;
using EvenConv.Training;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv eval`: test loss and error of a checkpoint.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint written by `train` (e.g. RUN/last.ckpt).", Required = true };
        var data = new Option<string?>("--data") { Description = "Data set name or directory to test on (default: the one it was trained on)." };
        var dataDir = DataCommand.DataDirectoryOption();
        var batch = new Option<int>("--batch") { Description = "Evaluation batch size.", DefaultValueFactory = _ => 100 };
        var limit = new Option<int?>("--test-limit") { Description = "Use only this many evenly spaced test images." };
        var command = new Command("eval", "Report the test loss and top-1 error of a checkpoint.") { checkpoint, data, dataDir, batch, limit };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(checkpoint)!;
            var (header, result) = Evaluator.EvaluateCheckpoint(path, parse.GetValue(data), parse.GetValue(dataDir), parse.GetValue(batch), parse.GetValue(limit), ClassifierModels.Create);
            var c = header.Config;
            AnsiConsole.MarkupLineInterpolated($"{c.Model} {c.Conv} (trained on {c.Data}, epoch {header.Position.Epoch - (header.Position.NextBatch == 0 ? 1 : 0)}{(header.Position.NextBatch > 0 ? $", batch {header.Position.NextBatch}" : "")})");
            AnsiConsole.MarkupLineInterpolated($"test error [bold]{100 * result.Error:F2}%[/]  loss {result.Loss:F4}  on {result.Count} images of {parse.GetValue(data) ?? c.Data}");
            return 0;
        });
        return command;
    }
}
