using EvenConv.Ops;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Interop.Onnx;

/// <summary>
/// The ONNX graph being written: nodes in execution order, weights as initializers named by their state-dict keys,
/// and one method per ONNX operator the exporter uses (opset <see cref="OnnxExporter.Opset"/>). Modules add their
/// computation through <see cref="Module"/>, which dispatches to the module's <see cref="IOnnxExportable"/>
/// implementation or to a writer for a TorchSharp module, and names every node after the module it comes from.
/// </summary>
public sealed class OnnxGraph
{
    private readonly Dictionary<nn.Module, string> _paths = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<string> _names = [];
    private readonly Stack<string> _scope = new();

    private readonly IReadOnlyDictionary<nn.Module, long[]> _inputShapes;

    internal OnnxGraph(nn.Module root, OnnxExportOptions options, IReadOnlyDictionary<nn.Module, long[]> inputShapes)
    {
        Options = options;
        _inputShapes = inputShapes;
        _paths[root] = "";
        foreach (var (name, module) in root.named_modules()) _paths.TryAdd(module, name);
    }

    /// <summary>How the model is written.</summary>
    public OnnxExportOptions Options { get; }

    internal List<NodeProto> Nodes { get; } = [];

    internal List<TensorProto> Initializers { get; } = [];

    /// <summary>Writes <paramref name="module"/> applied to <paramref name="input"/> and returns its output.</summary>
    /// <exception cref="OnnxExportException">Neither the module nor a registered writer knows how to write it.</exception>
    public string Module(nn.Module module, string input)
    {
        ArgumentNullException.ThrowIfNull(module);
        _scope.Push(PathOf(module));
        try
        {
            if (module is IOnnxExportable exportable) return exportable.WriteOnnx(this, input);
            if (TorchModuleWriters.Find(module) is { } write) return write(this, module, input);
            throw new OnnxExportException(
                $"Cannot export module '{DisplayPath(module)}' of type {module.GetType().FullName} to ONNX: no ONNX writer for it. " +
                $"Supported are EvenConv's layers and models and the TorchSharp modules {string.Join(", ", TorchModuleWriters.SupportedTypeNames)}; " +
                "implement EvenConv.Interop.Onnx.IOnnxExportable on the module, or register a writer with OnnxExporter.RegisterWriter.");
        }
        finally
        {
            _scope.Pop();
        }
    }

    /// <summary>The module's state-dict prefix ("stages.0.blocks.1.conv1"); "" for the root.</summary>
    public string PathOf(nn.Module module) => _paths.TryGetValue(module, out var path) ? path : module.GetName();

    /// <summary>The shape of <paramref name="module"/>'s input in the exporter's sample forward (batch 1, the
    /// options' C×H×W): for writers that need a channel count their module does not store.</summary>
    public long[] InputShape(nn.Module module) =>
        _inputShapes.TryGetValue(module, out var shape) ? shape
            : throw new OnnxExportException($"Cannot export module '{DisplayPath(module)}' ({module.GetType().Name}): the model's forward never called it through call(), so its input shape is unknown.");

    private string DisplayPath(nn.Module module) => PathOf(module) is { Length: > 0 } p ? p : $"(root {module.GetName()})";

    /// <summary>A float initializer holding <paramref name="value"/> in NCHW order (whatever its memory layout).</summary>
    public string Weight(string name, Tensor value)
    {
        using var dense = value.detach().cpu().to(float32).contiguous();
        var proto = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(dense.shape);
        proto.RawData = ByteString.CopyFrom(dense.bytes);
        Initializers.Add(proto);
        return proto.Name;
    }

    /// <summary>An int64 initializer (shapes, pads, split sizes).</summary>
    public string Int64s(string name, params long[] values)
    {
        var proto = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        Initializers.Add(proto);
        return proto.Name;
    }

    /// <summary>A float scalar initializer.</summary>
    public string Scalar(string name, float value)
    {
        var proto = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        proto.FloatData.Add(value);
        Initializers.Add(proto);
        return proto.Name;
    }

    /// <summary>Appends one node with one output, named after the current module and the operator.</summary>
    public string Node(string op, IEnumerable<string> inputs, params (string Name, object Value)[] attributes) =>
        NodeWithOutputs(op, inputs, 1, attributes)[0];

    /// <summary>Appends one node with <paramref name="outputs"/> outputs.</summary>
    public string[] NodeWithOutputs(string op, IEnumerable<string> inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var scope = _scope.Count > 0 ? _scope.Peek() : "";
        var node = new NodeProto { OpType = op, Name = Unique($"{(scope.Length > 0 ? scope + "/" : "")}{op}") };
        node.Input.AddRange(inputs);
        for (var i = 0; i < outputs; i++) node.Output.Add(Unique($"{node.Name}:{i}"));
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        Nodes.Add(node);
        return [.. node.Output];
    }

    public string Relu(string x) => Node("Relu", [x]);

    /// <summary>min(max(x, lo), hi): ReLU6 is Clip(x, 0, 6).</summary>
    public string Clip(string x, float lo, float hi) => Node("Clip", [x, Scalar("clip_min", lo), Scalar("clip_max", hi)]);

    public string Add(string a, string b) => Node("Add", [a, b]);

    public string Concat(IEnumerable<string> values, int axis = 1) => Node("Concat", values, ("axis", (long)axis));

    /// <summary>Splits the channels into runs of the given (positive) sizes.</summary>
    public string[] SplitChannels(string x, IReadOnlyList<long> sizes) =>
        sizes.Count == 1 ? [x] : NodeWithOutputs("Split", [x, Int64s("split", [.. sizes])], sizes.Count, ("axis", 1L));

    /// <summary>Zero padding of the two spatial axes with the Pad operator (never a convolution's own pads, so no
    /// runtime has to support asymmetric convolution padding).</summary>
    public string Pad(string x, Padding2d p) =>
        p is { Top: 0, Bottom: 0, Left: 0, Right: 0 } ? x : Node("Pad", [x, Int64s("pads", 0, 0, p.Top, p.Left, 0, 0, p.Bottom, p.Right)], ("mode", "constant"));

    /// <summary>Rows [start, end) and columns [start, end) of the spatial axes; negative ends count from the end.</summary>
    public string SliceSpatial(string x, long rowStart, long rowEnd, long colStart, long colEnd) =>
        Node("Slice", [x, Int64s("starts", rowStart, colStart), Int64s("ends", rowEnd, colEnd), Int64s("axes", 2, 3)]);

    /// <summary>An eval-mode batch norm (running statistics).</summary>
    public string BatchNorm(BatchNorm2d bn, string x)
    {
        var path = PathOf(bn);
        using var _ = no_grad();
        var channels = bn.running_mean!.shape[0];
        using var ones = torch.ones(channels);
        using var zeros = torch.zeros(channels);
        return Node("BatchNormalization",
            [x, Weight($"{path}.weight", bn.weight ?? ones), Weight($"{path}.bias", bn.bias ?? zeros),
             Weight($"{path}.running_mean", bn.running_mean!), Weight($"{path}.running_var", bn.running_var!)],
            ("epsilon", (float)bn.eps));
    }

    public string MaxPool(string x, int kernel, int stride, int padding) =>
        Node("MaxPool", [x], ("kernel_shape", new long[] { kernel, kernel }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { padding, padding, padding, padding }));

    /// <summary>Average pooling; <paramref name="countIncludePad"/> false divides by the pixels inside the map, as
    /// PyTorch's <c>count_include_pad=False</c>.</summary>
    public string AveragePool(string x, int kernel, int stride, int padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
        Node("AveragePool", [x], ("kernel_shape", new long[] { kernel, kernel }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { padding, padding, padding, padding }), ("ceil_mode", ceilMode ? 1L : 0L), ("count_include_pad", countIncludePad ? 1L : 0L));

    /// <summary>Mean over the spatial axes: (N, C, H, W) → (N, C).</summary>
    public string GlobalAveragePoolFlat(string x) => Node("Flatten", [Node("GlobalAveragePool", [x])], ("axis", 1L));

    /// <summary>x·Wᵀ + b of a fully connected layer.</summary>
    public string Linear(Linear linear, string x)
    {
        var path = PathOf(linear);
        var inputs = new List<string> { x, Weight($"{path}.weight", linear.weight!) };
        if (linear.bias is { } b) inputs.Add(Weight($"{path}.bias", b));
        return Node("Gemm", inputs, ("transB", 1L));
    }

    /// <summary>Interleaves <paramref name="groups"/> channel groups (ShuffleNet's channel shuffle) for any batch and
    /// spatial size: reshape to (N, g, C/g, H·W), swap the group axes, reshape back to the input's shape.</summary>
    public string ChannelShuffle(string x, long channels, int groups)
    {
        var grouped = Node("Reshape", [x, Int64s("grouped_shape", 0, groups, channels / groups, -1)]);
        var swapped = Node("Transpose", [grouped], ("perm", new long[] { 0, 2, 1, 3 }));
        return Node("Reshape", [swapped, Node("Shape", [x])]);
    }

    private string Unique(string name)
    {
        if (_names.Add(name)) return name;
        for (var i = 1; ; i++)
            if (_names.Add($"{name}_{i}")) return $"{name}_{i}";
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ls); break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            default: throw new ArgumentException($"ONNX attribute '{name}': unsupported value type {value.GetType().Name}.", nameof(value));
        }
        return a;
    }
}
