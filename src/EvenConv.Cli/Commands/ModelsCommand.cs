using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EvenConv.Complexity;
using EvenConv.Layers;
using EvenConv.Models;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv models list|summary|sweep-table`: the model zoo, its parameter/MAC/memory counts and the §3.1 sweep axes.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "The model zoo: list models, count parameters, MACs and activation memory, print the kernel-size sweep table.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Summary());
        command.Subcommands.Add(SweepTable());
        return command;
    }

    private static Command List()
    {
        var glob = new Argument<string>("GLOB") { Description = "Name pattern with * and ? (default: all).", DefaultValueFactory = _ => "*" };
        var command = new Command("list", "List the registered models whose name matches GLOB.") { glob };
        command.SetAction(parse =>
        {
            var models = ModelRegistry.List(parse.GetValue(glob)!);
            if (models.Count == 0) throw new ArgumentException($"No model matches '{parse.GetValue(glob)}'. Run `models list` to see all names.");
            var table = new Table().AddColumns("name", "conv kinds", "input", "classes", "description");
            foreach (var m in models)
                table.AddRow(Markup.Escape(m.Name), m.ConvKinds is null ? "any" : m.ConvKindsText, $"{m.DefaultInputSize}", $"{m.DefaultNumClasses}", Markup.Escape(m.Description));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Summary()
    {
        var name = new Argument<string>("NAME") { Description = "Registered model name (see `models list`)." };
        var conv = new Option<string?>("--conv") { Description = "Spatial kernel kind: c2, c2sp, c3, c4, c4sp, c5, ... (default: the model's paper row)." };
        var input = new Option<string?>("--input") { Description = "Input size H or HxW in pixels (default: the model's data set, 32 or 224)." };
        var classes = new Option<int?>("--classes") { Description = "Number of classes (default: the model's data set)." };
        var inChannels = new Option<int>("--in-channels") { Description = "Input channels.", DefaultValueFactory = _ => 3 };
        var layers = new Option<bool>("--layers") { Description = "Print every counted layer." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the counts (and every layer) to this JSON file." };
        var memory = new Option<int?>("--measure-memory") { Description = "Also measure the peak memory of one training step at this batch size." };
        var command = new Command("summary", "Count a model's parameters, MACs (conv and FC, the paper's rules) and activation memory.")
            { name, conv, input, classes, inChannels, layers, json, memory };
        command.SetAction(parse =>
        {
            var info = ModelRegistry.Get(parse.GetValue(name)!);
            var kind = parse.GetValue(conv) is { } k ? ConvKind.Parse(k) : info.DefaultConv;
            var (h, w) = parse.GetValue(input) is { } size ? ParseSize(size) : (info.DefaultInputSize, info.DefaultInputSize);
            var options = new ModelOptions(kind, parse.GetValue(inChannels), parse.GetValue(classes) ?? info.DefaultNumClasses, h, w).Validate();
            using var model = ModelRegistry.Create(info.Name, options);
            var report = ModelComplexity.Count(model, options);

            var table = new Table().AddColumns("", "value");
            table.AddRow("model", Markup.Escape(info.Name));
            table.AddRow("conv", kind.ToString());
            table.AddRow("input", $"{options.InChannels}×{h}×{w}, {options.NumClasses} classes");
            table.AddRow("parameters", $"{report.Params:N0} ({report.Params / 1e6:F2}M)");
            table.AddRow("MACs per image", $"{report.Macs:N0} ({report.Macs / 1e6:F1}M)");
            table.AddRow("activations per image", $"{report.ActivationBytesPerImage:N0} B ({report.ActivationBytesPerImage / 1048576.0:F2} MiB; conv and BN outputs × 4 B)");
            AnsiConsole.Write(table);
            if (parse.GetValue(layers)) AnsiConsole.Write(LayerTable(report));

            TrainingMemoryReport? measured = null;
            if (parse.GetValue(memory) is int batch)
            {
                measured = TrainingMemory.MeasureStep(model, options, batch);
                AnsiConsole.MarkupLineInterpolated(
                    $"training step, batch {batch}: peak {measured.StepPeakBytes / 1048576.0:F1} MiB above {measured.StateBytes / 1048576.0:F1} MiB of process and model state ({measured.StepPeakBytesPerImage / 1048576.0:F2} MiB per image){(measured.PeakIsIsolated ? "" : "; peak counter could not be reset, so this is an upper bound")}");
            }
            if (parse.GetValue(json) is { } file)
            {
                WriteAtomically(file.FullName, SummaryJson(info.Name, options, report, measured));
                AnsiConsole.MarkupLineInterpolated($"wrote {file.FullName}");
            }
            return 0;
        });
        return command;
    }

    private static Command SweepTable()
    {
        var csv = new Option<FileInfo?>("--csv") { Description = "Also write the table to this CSV file." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the table to this JSON file." };
        var kinds = new Option<string>("--kinds") { Description = "Comma-separated kernel kinds (c2sp counts as c2, c4sp as c4).", DefaultValueFactory = _ => "c2,c3,c4,c5" };
        var command = new Command("sweep-table", "Parameters and MACs of the paper's kernel-size sweep (§3.1): ResNet-CIFAR n=3…24, DenseNet-CIFAR g=12 N=6…36.")
            { csv, json, kinds };
        command.SetAction(parse =>
        {
            var kindList = ConvKind.ParseList(parse.GetValue(kinds)!);
            var total = kindList.Count * (KernelSweep.ResNetBlocks.Count + KernelSweep.DenseNetLayers.Count);
            var done = 0;
            var points = KernelSweep.Count(kindList, p =>
            {
                if (Console.IsErrorRedirected || ++done % 7 == 0 || done == total)
                    Console.Error.WriteLine($"counted {(Console.IsErrorRedirected ? ++done : done)}/{total}: {p.Family} depth {p.Depth} {p.Kind}");
            });
            foreach (var family in points.GroupBy(p => p.Family))
                foreach (var (title, value) in new (string, Func<SweepPoint, string>)[]
                         { ("parameters (M)", p => $"{p.Params / 1e6:F3}"), ("MACs per image (M)", p => $"{p.Macs / 1e6:F1}") })
                {
                    var table = new Table { Title = new TableTitle($"{family.Key}: {title}") }.AddColumns(family.Key == "resnet_cifar" ? "n" : "N", "depth");
                    foreach (var k in kindList) table.AddColumn(new TableColumn(k.ToString()).RightAligned());
                    foreach (var row in family.GroupBy(p => (p.Blocks, p.Depth)))
                        table.AddRow([$"{row.Key.Blocks}", $"{row.Key.Depth}", .. kindList.Select(k => value(row.Single(p => p.Kind == k)))]);
                    AnsiConsole.Write(table);
                }
            if (parse.GetValue(csv) is { } csvFile)
            {
                var sb = new StringBuilder("family,blocks,depth,conv,params,macs\n");
                foreach (var p in points) sb.Append(CultureInfo.InvariantCulture, $"{p.Family},{p.Blocks},{p.Depth},{p.Kind},{p.Params},{p.Macs}\n");
                WriteAtomically(csvFile.FullName, sb.ToString());
                AnsiConsole.MarkupLineInterpolated($"wrote {csvFile.FullName}");
            }
            if (parse.GetValue(json) is { } jsonFile)
            {
                var array = new JsonArray(points.Select(p => (JsonNode)new JsonObject
                {
                    ["family"] = p.Family, ["blocks"] = p.Blocks, ["depth"] = p.Depth, ["conv"] = p.Kind.ToString(), ["params"] = p.Params, ["macs"] = p.Macs,
                }).ToArray());
                WriteAtomically(jsonFile.FullName, array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                AnsiConsole.MarkupLineInterpolated($"wrote {jsonFile.FullName}");
            }
            return 0;
        });
        return command;
    }

    private static Table LayerTable(ComplexityReport report)
    {
        var table = new Table().AddColumns("layer", "type", "output", "params", "MACs", "activations");
        foreach (var l in report.Layers)
            table.AddRow(Markup.Escape(l.Name), Markup.Escape(l.Type), string.Join("×", l.OutputShape), $"{l.Params:N0}", $"{l.Macs:N0}", $"{l.ActivationElements * 4:N0} B");
        return table;
    }

    private static string SummaryJson(string name, ModelOptions options, ComplexityReport report, TrainingMemoryReport? measured)
    {
        var root = new JsonObject
        {
            ["model"] = name,
            ["conv"] = options.Conv.ToString(),
            ["in_channels"] = options.InChannels,
            ["input_height"] = options.InputHeight,
            ["input_width"] = options.InputWidth,
            ["num_classes"] = options.NumClasses,
            ["params"] = report.Params,
            ["macs"] = report.Macs,
            ["activation_bytes_per_image"] = report.ActivationBytesPerImage,
        };
        if (measured is not null)
            root["training_step_memory"] = new JsonObject
            {
                ["batch_size"] = measured.BatchSize, ["state_bytes"] = measured.StateBytes,
                ["step_peak_bytes"] = measured.StepPeakBytes, ["peak_is_isolated"] = measured.PeakIsIsolated,
            };
        root["layers"] = new JsonArray(report.Layers.Select(l => (JsonNode)new JsonObject
        {
            ["name"] = l.Name, ["type"] = l.Type, ["output_shape"] = new JsonArray(l.OutputShape.Select(d => (JsonNode)d).ToArray()),
            ["params"] = l.Params, ["macs"] = l.Macs, ["activation_bytes"] = l.ActivationElements * 4,
        }).ToArray());
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Parses "32" or "224x224".</summary>
    internal static (int Height, int Width) ParseSize(string text)
    {
        var parts = text.ToLowerInvariant().Split('x', '×');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0))
        {
            var h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return (h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        }
        throw new ArgumentException($"--input '{text}' is not a size: give H or HxW in pixels, e.g. 32 or 224x224.");
    }

    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
