namespace EvenConv.Interop.Onnx;

/// <summary>
/// A module that writes its own eval-mode forward into an ONNX graph. Every EvenConv layer, block and model implements
/// it next to its <c>forward</c>, so the two are read (and changed) together; TorchSharp's own modules are written by
/// <see cref="TorchModuleWriters"/>. The exporter walks modules and parameters, never traces ops, so how a layer
/// computes internally does not matter — only what it computes.
/// </summary>
public interface IOnnxExportable
{
    /// <summary>Appends the module's eval-mode computation of <paramref name="input"/> (an ONNX value name) to
    /// <paramref name="graph"/> and returns the name of its output.</summary>
    string WriteOnnx(OnnxGraph graph, string input);
}
