using System.CommandLine;
using System.Globalization;
using EvenConv.Analysis;
using EvenConv.Data;
using EvenConv.Layers;
using EvenConv.Models;
using EvenConv.Reproduction;
using EvenConv.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv analyze shift|erosion`: the paper's shift and information-erosion measurements (§1.2–1.3).</summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var command = new Command("analyze", "Measure the shift of even kernels and the information erosion of zero padding (paper §1.2–1.3).");
        command.Subcommands.Add(Shift());
        command.Subcommands.Add(Erosion());
        return command;
    }

    private static Command Shift()
    {
        var name = new Argument<string>("MODEL") { Description = "Registered model name (see `models list`)." };
        var conv = new Option<string?>("--conv") { Description = "Spatial kernel kind: c2, c2sp, c3, c4, c4sp, c5, ... (default: the model's paper row)." };
        var input = new Option<string?>("--input") { Description = "Input size H or HxW in pixels (default: the model's data set, 32 or 224)." };
        var inChannels = new Option<int>("--in-channels") { Description = "Input channels.", DefaultValueFactory = _ => 3 };
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "Load trained weights (for --measure); the model and kind come from the checkpoint." };
        var measure = new Option<bool>("--measure") { Description = "Also measure each main-path layer's offset from the gradient centroid of its effective receptive field." };
        var measureInput = new Option<int>("--measure-input") { Description = "Input size for --measure; larger keeps deep receptive fields off the border but costs more.", DefaultValueFactory = _ => 128 };
        var every = new Option<int>("--every") { Description = "With --measure: measure every N-th layer (and the last of every map size).", DefaultValueFactory = _ => 1 };
        var json = new Option<FileInfo?>("--json") { Description = "Write the per-layer offsets and the total to this JSON file (input pixels)." };
        var command = new Command("shift", "Trace the cumulative spatial offset of every layer's output grid, in input pixels (positive: content moves up/left).")
            { name, conv, input, inChannels, checkpoint, measure, measureInput, every, json };
        command.SetAction(parse =>
        {
            var ckpt = parse.GetValue(checkpoint);
            var (modelName, kind, model, (channels, height, width), _) = ckpt is null
                ? Fresh(parse.GetValue(name)!, parse.GetValue(conv), parse.GetValue(input), parse.GetValue(inChannels))
                : FromCheckpoint(ckpt.FullName);
            using var _m = model;
            var trace = ShiftTracer.Trace(model, channels, height, width);
            IReadOnlyList<MeasuredShift>? measured = null;
            if (parse.GetValue(measure))
            {
                var size = parse.GetValue(measureInput);
                AnsiConsole.MarkupLineInterpolated($"measuring receptive-field centroids on {size}×{size} inputs{(ckpt is null ? " (fresh model: batch norm calibrated on random inputs)" : "")}...");
                measured = ReceptiveFieldShift.Measure(model, channels, size, size,
                    new ErfOptions { Every = parse.GetValue(every), CalibrateBatchNorm = ckpt is null });
            }
            AnsiConsole.Write(ShiftTable(trace, measured));
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"[bold]{modelName} {kind}[/] on {height}×{width}: deepest map offset ([bold]{trace.Total.Y:0.###}, {trace.Total.X:0.###}[/]) input pixels over {trace.MainPath.Count} main-path layers");
            if (parse.GetValue(json) is { } file)
            {
                AnalysisReports.WriteShiftJson(file.FullName, $"{modelName} {kind}", trace, measured);
                AnsiConsole.MarkupLineInterpolated($"wrote {file.FullName}");
            }
            return 0;
        });
        return command;
    }

    private static Command Erosion()
    {
        var kinds = new Option<string>("--kinds") { Description = "Kernel kinds of the reconstruction, comma-separated.", DefaultValueFactory = _ => "c2,c2sp,c3,c4,c4sp,c5" };
        var output = new Option<string>("--out") { Description = "Folder for the CSV, JSON and PNG files.", DefaultValueFactory = _ => "erosion" };
        var model = new Option<string?>("--model") { Description = "Measure a real network instead of the reconstruction: a registered model name." };
        var conv = new Option<string?>("--conv") { Description = "With --model: kernel kinds to compare, comma-separated (default c2,c2sp)." };
        var checkpoints = new Option<FileInfo[]>("--checkpoint") { Description = "Trained checkpoint(s), one per kind (repeat the option); model, kind and data come from each.", AllowMultipleArgumentsPerToken = true };
        var data = new Option<string?>("--data") { Description = "With --model: data set name (fashion-mnist, cifar10, ...) or image folder path." };
        var split = new Option<DataSplit>("--split") { Description = "Which split's images to measure.", DefaultValueFactory = _ => DataSplit.Test };
        var images = new Option<int>("--images") { Description = "Images averaged (from the start of the split).", DefaultValueFactory = _ => 256 };
        var command = new Command("erosion", "Information erosion Q_n = mean |F_n| layer by layer: the paper's 54-layer mean-filter reconstruction, or a real network on real images.")
            { kinds, output, model, conv, checkpoints, data, split, images };
        command.SetAction(parse =>
        {
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            if (parse.GetValue(model) is null && parse.GetValue(checkpoints) is not { Length: > 0 })
            {
                Reconstruction(ConvKind.ParseList(parse.GetValue(kinds)!), outDir);
                return 0;
            }
            RealNetwork(parse.GetValue(model), parse.GetValue(conv), parse.GetValue(checkpoints) ?? [], parse.GetValue(data), parse.GetValue(split), parse.GetValue(images), outDir);
            return 0;
        });
        return command;
    }

    private static void Reconstruction(IReadOnlyList<ConvKind> kinds, string outDir)
    {
        if (kinds.Count == 0) throw new ArgumentException("--kinds is empty; give kinds such as c2,c2sp,c3.");
        var setup = new ErosionSetup();
        var curves = ErosionReconstruction.Run(kinds, setup);
        AnalysisReports.WriteErosionCsv(Path.Combine(outDir, "erosion.csv"), curves);
        AnalysisReports.WriteErosionJson(Path.Combine(outDir, "erosion.json"), curves, setup);
        AnalysisFigures.SaveErosionCurves(Path.Combine(outDir, "erosion.png"), curves, setup);
        AnalysisFigures.SaveFinalMaps(Path.Combine(outDir, "erosion_final_maps.png"), curves, setup);
        var table = new Table().AddColumns("kind", "Q_0", "Q_18", "Q_36", "Q_54", "poster Q_54 (by eye)");
        foreach (var c in curves.OrderByDescending(c => c.Q[^1]))
            table.AddRow(c.Kind.ToString(), Q(c.Q[0]), Q(c.Q[18]), Q(c.Q[36]), Q(c.Q[^1]),
                PaperResults.ErosionLayer54.TryGetValue(c.Kind.ToString(), out var paper) ? Q(paper) : "—");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"reconstruction: constant 0.5 on 32×32, 54 mean-filter layers, 2×2 average pool before layers 19 and 37");
        AnsiConsole.MarkupLineInterpolated($"wrote erosion.csv, erosion.json, erosion.png, erosion_final_maps.png in {outDir}");
    }

    private static void RealNetwork(string? modelName, string? convList, FileInfo[] checkpoints, string? dataName, DataSplit split, int images, string outDir)
    {
        var runs = new List<(ConvKind, ModelErosionResult)>();
        string? label = modelName;
        if (checkpoints.Length > 0)
        {
            foreach (var ckpt in checkpoints)
            {
                var (name, kind, model, _, config) = FromCheckpoint(ckpt.FullName);
                using var _ = model;
                label ??= name;
                var (data, normalization) = OpenData(dataName ?? config!.Data, split, config?.DataDirectory);
                AnsiConsole.MarkupLineInterpolated($"{name} {kind} ({ckpt.Name}) on {data.Name}...");
                runs.Add((kind, ModelErosion.Measure(model, data, Options(images, normalization))));
            }
        }
        else
        {
            if (dataName is null) throw new ArgumentException("--data is missing: give the images to measure on, e.g. --data fashion-mnist or --data path/to/folder.");
            var (data, normalization) = OpenData(dataName, split, null);
            foreach (var kind in ConvKind.ParseList(convList ?? "c2,c2sp"))
            {
                manual_seed(1);
                using var model = ModelRegistry.Create(modelName!, new ModelOptions(kind, data.Channels, data.ClassNames.Count, data.Height, data.Width));
                AnsiConsole.MarkupLineInterpolated($"{modelName} {kind} (fresh weights, batch norm calibrated on the images) on {data.Name}...");
                // A fresh network's batch norm has running statistics (0, 1): calibrate on the images so the maps are
                // normalised as in a trained network; the weights themselves stay random.
                var loader = BatchFeed(data, normalization);
                using var calibration = BatchNormCalibration.Calibrate(model, loader);
                runs.Add((kind, ModelErosion.Measure(model, data, Options(images, normalization))));
            }
        }
        label ??= "model";
        AnalysisReports.WriteModelErosionCsv(Path.Combine(outDir, "model_erosion.csv"), runs);
        AnalysisReports.WriteModelErosionJson(Path.Combine(outDir, "model_erosion.json"), label, runs);
        AnalysisFigures.SaveModelErosionCurves(Path.Combine(outDir, "model_erosion.png"), label, runs);
        AnalysisFigures.SaveModelCentroids(Path.Combine(outDir, "model_centroids.png"), label, runs);
        AnalysisFigures.SaveFeatureMapGrid(Path.Combine(outDir, "feature_maps.png"), label, runs);

        var table = new Table().AddColumns("kind", "layer", "size", "Q", "centroid y (px)", "centroid x (px)");
        foreach (var (kind, r) in runs)
            foreach (var l in new[] { r.Layers[0] }.Concat(r.StageEnds.Select(s => s.Layer)))
                table.AddRow(kind.ToString(), $"{l.Index} {Markup.Escape(l.Name)}", $"{l.Height}×{l.Width}", Q(l.Q),
                    l.CentroidY.ToString("0.00", CultureInfo.InvariantCulture), l.CentroidX.ToString("0.00", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"wrote model_erosion.csv, model_erosion.json, model_erosion.png, model_centroids.png, feature_maps.png in {outDir}");
    }

    private static ModelErosionOptions Options(int images, ChannelNormalization normalization) =>
        new() { Images = images, Preprocess = batch => Normalize(batch, normalization) };

    private static Tensor Normalize(Tensor batch, ChannelNormalization n)
    {
        var c = n.Mean.Length;
        using var mean = tensor(n.Mean).view(1, c, 1, 1);
        using var std = tensor(n.Std).view(1, c, 1, 1);
        return (batch.to_type(ScalarType.Float32) - mean) / std;
    }

    // Calibration batches: consecutive images of the data set, normalised as for the measurement.
    private static Func<Tensor> BatchFeed(IImageDataset data, ChannelNormalization normalization)
    {
        var next = 0;
        return () =>
        {
            const int batch = 32;
            var size = data.Channels * data.Height * data.Width;
            var bytes = new byte[batch * size];
            for (var i = 0; i < batch; i++) data.ReadImage((next + i) % data.Count, bytes.AsSpan(i * size, size));
            next = (next + batch) % data.Count;
            using var raw = tensor(bytes, [batch, data.Channels, data.Height, data.Width]);
            return Normalize(raw, normalization);
        };
    }

    private static (IImageDataset Data, ChannelNormalization Normalization) OpenData(string nameOrPath, DataSplit split, string? dataDirectory)
    {
        var data = DataSets.Open(nameOrPath, split, dataDirectory);
        // The trainer normalises with the training split's statistics; use the same constants.
        var train = split == DataSplit.Train ? data : DataSets.Open(nameOrPath, DataSplit.Train, dataDirectory);
        return (data, ChannelNormalization.For(train));
    }

    private static (string Name, ConvKind Kind, nn.Module<Tensor, Tensor> Model, (int C, int H, int W) Input, TrainingConfig? Config) Fresh(
        string name, string? conv, string? input, int inChannels)
    {
        var info = ModelRegistry.Get(name);
        var kind = conv is null ? info.DefaultConv : ConvKind.Parse(conv);
        var shape = InputShape(info.Name, input, inChannels);
        return (info.Name, kind, ModelRegistry.Create(info.Name, new ModelOptions(kind, inChannels, info.DefaultNumClasses, shape.Height, shape.Width)), shape, null);
    }

    private static (string Name, ConvKind Kind, nn.Module<Tensor, Tensor> Model, (int C, int H, int W) Input, TrainingConfig Config) FromCheckpoint(string path)
    {
        var (header, tensors) = Checkpoint.Read(path);
        try
        {
            var config = header.Config;
            var kind = ConvKind.Parse(config.Conv);
            var data = DataSets.Open(config.Data, DataSplit.Test, config.DataDirectory);
            var model = ModelRegistry.Create(config.Model, new ModelOptions(kind, data.Channels, data.ClassNames.Count, data.Height, data.Width));
            Checkpoint.LoadModel(model, tensors, path);
            model.eval();
            return (config.Model, kind, model, (data.Channels, data.Height, data.Width), config);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static (int Channels, int Height, int Width) InputShape(string model, string? input, int inChannels)
    {
        if (inChannels < 1) throw new ArgumentException($"--in-channels {inChannels}: give 1 (grey) or 3 (RGB).");
        if (input is null)
        {
            var size = ModelRegistry.Get(model).DefaultInputSize;
            return (inChannels, size, size);
        }
        var parts = input.Split('x', 'X', '×');
        if (parts.Length is < 1 or > 2 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0))
            throw new ArgumentException($"--input '{input}': give a size in pixels such as 32 or 32x48.");
        var values = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return (inChannels, values[0], values.Length == 2 ? values[1] : values[0]);
    }

    private static Table ShiftTable(ShiftTrace trace, IReadOnlyList<MeasuredShift>? measured)
    {
        var byIndex = measured?.ToDictionary(m => m.Layer.Index) ?? [];
        var table = new Table().AddColumns("#", "layer", "type", "size", "step y, x", "offset y, x");
        if (measured is not null) table.AddColumn("measured y, x");
        foreach (var l in trace.Layers)
        {
            var row = new List<string>
            {
                l.Index.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(l.Name) + (l.MainPath ? "" : " [grey](branch)[/]") + (l.Assumed ? " [yellow](assumed)[/]" : ""),
                Markup.Escape(l.Type), $"{l.Height}×{l.Width}", Pair(l.StepY, l.StepX), Pair(l.OffsetY, l.OffsetX),
            };
            if (measured is not null) row.Add(byIndex.TryGetValue(l.Index, out var m) ? Pair(m.OffsetY, m.OffsetX) : "");
            table.AddRow(row.ToArray());
        }
        return table;
    }

    private static string Pair(double y, double x) => string.Create(CultureInfo.InvariantCulture, $"{y:0.###}, {x:0.###}");

    private static string Q(double v) => v.ToString(v >= 1e-3 ? "0.0000" : "0.00e0", CultureInfo.InvariantCulture);
}
