using EvenConv.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Interop.Onnx;

/// <summary>
/// ONNX writers for TorchSharp's own modules, keyed by module type, so that module trees mixing EvenConv layers with
/// the usual TorchSharp containers, norms, activations and pools export too. More writers can be registered through
/// <see cref="OnnxExporter.RegisterWriter{T}"/>.
/// </summary>
internal static class TorchModuleWriters
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<Type, Func<OnnxGraph, nn.Module, string, string>> Writers = new()
    {
        [typeof(Sequential)] = (g, m, x) => m.children().Aggregate(x, (value, child) => g.Module(child, value)),
        [typeof(BatchNorm2d)] = (g, m, x) => g.BatchNorm((BatchNorm2d)m, x),
        [typeof(Linear)] = (g, m, x) => g.Linear((Linear)m, x),
        [typeof(ReLU)] = (g, _, x) => g.Relu(x),
        [typeof(ReLU6)] = (g, _, x) => g.Clip(x, 0, 6),
        [typeof(Hardtanh)] = (g, m, x) => g.Clip(x, (float)((Hardtanh)m).min_val, (float)((Hardtanh)m).max_val),
        [typeof(Sigmoid)] = (g, _, x) => g.Node("Sigmoid", [x]),
        [typeof(Tanh)] = (g, _, x) => g.Node("Tanh", [x]),
        [typeof(LeakyReLU)] = (g, m, x) => g.Node("LeakyRelu", [x], ("alpha", (float)((LeakyReLU)m).negative_slope)),
        [typeof(Identity)] = (_, _, x) => x,
        [typeof(Dropout)] = (_, _, x) => x,          // eval mode
        [typeof(Dropout2d)] = (_, _, x) => x,
        [typeof(Flatten)] = WriteFlatten,
        [typeof(Conv2d)] = WriteConv2d,
        [typeof(MaxPool2d)] = WriteMaxPool,
        [typeof(AvgPool2d)] = WriteAvgPool,
        [typeof(AdaptiveAvgPool2d)] = WriteAdaptiveAvgPool,
    };

    /// <summary>The writer for <paramref name="module"/>'s exact type, or null.</summary>
    public static Func<OnnxGraph, nn.Module, string, string>? Find(nn.Module module)
    {
        lock (Gate) return Writers.GetValueOrDefault(module.GetType());
    }

    public static IEnumerable<string> SupportedTypeNames
    {
        get { lock (Gate) return Writers.Keys.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray(); }
    }

    public static void Register(Type type, Func<OnnxGraph, nn.Module, string, string> writer)
    {
        lock (Gate) Writers[type] = writer;
    }

    private static string WriteFlatten(OnnxGraph g, nn.Module m, string x)
    {
        var f = (Flatten)m;
        if (f.start_dim != 1 || f.end_dim != -1)
            throw new OnnxExportException($"Cannot export '{g.PathOf(m)}': only Flatten(1, -1) maps to ONNX Flatten (got start_dim {f.start_dim}, end_dim {f.end_dim}).");
        return g.Node("Flatten", [x], ("axis", 1L));
    }

    private static string WriteConv2d(OnnxGraph g, nn.Module m, string x)
    {
        var c = (Conv2d)m;
        if (c.padding_mode != PaddingModes.Zeros || c.padding_type is not null)
            throw new OnnxExportException($"Cannot export '{g.PathOf(m)}': Conv2d with padding mode {c.padding_mode}{(c.padding_type is { } t ? $" / padding {t}" : "")}; use numeric zero padding, or an EvenConv ConvLayer (Conv.Create) for 'same'-padded even kernels.");
        var p = c.padding ?? [0, 0];
        x = g.Pad(x, new Padding2d((int)p[0], (int)p[0], (int)p[1], (int)p[1]));
        var path = g.PathOf(m);
        var inputs = new List<string> { x, g.Weight($"{path}.weight", c.weight!) };
        if (c.bias is { } b) inputs.Add(g.Weight($"{path}.bias", b));
        return g.Node("Conv", inputs, ("kernel_shape", c.kernel_size), ("strides", c.stride), ("dilations", c.dilation), ("group", c.groups));
    }

    private static string WriteMaxPool(OnnxGraph g, nn.Module m, string x)
    {
        var p = (MaxPool2d)m;
        if (p.dilation.Any(d => d != 1) || p.kernel_size[0] != p.kernel_size[^1] || p.ceil_mode)
            throw new OnnxExportException($"Cannot export '{g.PathOf(m)}': MaxPool2d is supported with a square kernel, dilation 1 and floor mode.");
        return g.MaxPool(x, (int)p.kernel_size[0], (int)(p.stride ?? p.kernel_size)[0], (int)(p.padding ?? [0])[0]);
    }

    private static string WriteAvgPool(OnnxGraph g, nn.Module m, string x)
    {
        var p = (AvgPool2d)m;
        if (p.divisor_override is not null || p.kernel_size[0] != p.kernel_size[^1])
            throw new OnnxExportException($"Cannot export '{g.PathOf(m)}': AvgPool2d is supported with a square kernel and no divisor override.");
        return g.AveragePool(x, (int)p.kernel_size[0], (int)(p.stride ?? p.kernel_size)[0], (int)(p.padding ?? [0])[0], p.ceil_mode, p.count_include_pad);
    }

    private static string WriteAdaptiveAvgPool(OnnxGraph g, nn.Module m, string x)
    {
        var p = (AdaptiveAvgPool2d)m;
        if (p.output_size.Any(s => s != 1))
            throw new OnnxExportException($"Cannot export '{g.PathOf(m)}': only AdaptiveAvgPool2d(1) (global average pooling) maps to ONNX; got output size [{string.Join(", ", p.output_size)}].");
        return g.Node("GlobalAveragePool", [x]);
    }
}
