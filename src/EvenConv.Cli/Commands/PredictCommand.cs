using System.CommandLine;
using EvenConv.Interop.Onnx;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv predict --onnx`: an exported model classifying image files in ONNX Runtime, without TorchSharp.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var onnx = new Option<string>("--onnx") { Description = "An ONNX file written by `export onnx`.", Required = true };
        var top = new Option<int>("--top") { Description = "Classes to show per image.", DefaultValueFactory = _ => 3 };
        var images = new Argument<string[]>("IMAGES") { Description = "PNG or JPEG files (resized to the model's input size).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Classify image files with an exported ONNX model in ONNX Runtime and print the top classes.") { onnx, top, images };
        command.SetAction(parse =>
        {
            using var classifier = OnnxClassifier.Open(parse.GetValue(onnx)!);
            var table = new Table().AddColumns("image", "class", "probability");
            foreach (var prediction in classifier.Predict(parse.GetValue(images)!, parse.GetValue(top)))
                foreach (var (i, (_, label, probability)) in prediction.Top.Index())
                    table.AddRow(i == 0 ? Markup.Escape(prediction.Path) : "", Markup.Escape(label), $"{100 * probability:F1}%");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
