using EvenConv.IO;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Interop.Onnx;

/// <summary>
/// Writes an EvenConv model — any model of the zoo, any kernel kind — or any module tree made of EvenConv layers and
/// the usual TorchSharp modules as an ONNX file (opset <see cref="Opset"/>) with eval-mode semantics: batch norms use
/// their running statistics, dropout is the identity. The file has one input "input" (N, C, H, W) and one output
/// "logits"; weights are stored in NCHW order whatever their memory layout. Run it with
/// <see cref="OnnxClassifier"/> or any ONNX runtime; docs/deploying.md.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The one ONNX operator set the exporter writes (ONNX 1.12, supported by every current runtime).</summary>
    public const int Opset = 17;

    /// <summary>The IR version that goes with opset 17.</summary>
    public const long IrVersion = 8;

    /// <summary>Name of the graph's input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the graph's output.</summary>
    public const string OutputName = "logits";

    /// <summary>Builds the ONNX model of <paramref name="model"/>.</summary>
    /// <exception cref="OnnxExportException">A module has no ONNX writer (the message names it).</exception>
    public static ModelProto Export(nn.Module<Tensor, Tensor> model, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        options.Validate();
        var wasTraining = model.training;
        model.eval();
        try
        {
            var (shapes, outputShape) = RecordInputShapes(model, options);
            var graph = new OnnxGraph(model, options, shapes);
            var output = graph.Module(model, InputName);
            graph.Node("Identity", [output]);
            graph.Nodes[^1].Output[0] = OutputName;
            return Assemble(model, graph, options, outputShape);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Writes the ONNX file of <paramref name="model"/> to <paramref name="path"/>, atomically.</summary>
    public static ModelProto Save(nn.Module<Tensor, Tensor> model, string path, OnnxExportOptions options)
    {
        var proto = Export(model, options);
        AtomicFile.Write(path, stream => proto.WriteTo(stream));
        return proto;
    }

    /// <summary>Teaches the exporter a module type of your own (modules of EvenConv implement
    /// <see cref="IOnnxExportable"/> instead): <paramref name="writer"/>(graph, module, input) returns the output.</summary>
    public static void RegisterWriter<T>(Func<OnnxGraph, T, string, string> writer) where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(writer);
        TorchModuleWriters.Register(typeof(T), (g, m, x) => writer(g, (T)m, x));
    }

    /// <summary>Runs the model once on a zero batch of one and records every module's input shape.</summary>
    private static (Dictionary<nn.Module, long[]> Shapes, long[] Output) RecordInputShapes(nn.Module<Tensor, Tensor> model, OnnxExportOptions options)
    {
        var shapes = new Dictionary<nn.Module, long[]>(ReferenceEqualityComparer.Instance);
        var removers = new List<Action>();
        try
        {
            foreach (var (_, module) in model.named_modules().Prepend(("", model)))
                if (module is nn.Module<Tensor, Tensor> m)
                    removers.Add(m.register_forward_pre_hook((mod, x) => { shapes.TryAdd(mod, x.shape); return x; }).remove);
            using var _ = inference_mode();
            using var scope = NewDisposeScope();
            var weight = model.parameters().FirstOrDefault();
            var sample = zeros([1, options.Channels, options.Height, options.Width], dtype: weight?.dtype ?? float32, device: weight?.device);
            var output = model.call(sample);
            if (output.dim() != 2)
                throw new OnnxExportException($"The model's output has shape [{string.Join(", ", output.shape)}]; the exporter writes classifiers, whose output is (N, classes).");
            return (shapes, output.shape);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
    }

    private static ModelProto Assemble(nn.Module model, OnnxGraph graph, OnnxExportOptions options, long[] outputShape)
    {
        var g = new GraphProto { Name = model.GetName() };
        g.Node.AddRange(graph.Nodes);
        g.Initializer.AddRange(graph.Initializers);
        g.Input.Add(TensorValue(InputName, options.BatchSize, options.Channels, options.Height, options.Width));
        g.Output.Add(TensorValue(OutputName, options.BatchSize, outputShape[1]));
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "EvenConv",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{model.GetName()} exported by EvenConv in eval mode (opset {Opset}).",
            Graph = g,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in options.Metadata) proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    private static ValueInfoProto TensorValue(string name, int? batch, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(batch is { } n ? new TensorShapeProto.Types.Dimension { DimValue = n } : new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
