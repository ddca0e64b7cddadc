namespace EvenConv.Interop.Onnx;

/// <summary>A module tree that cannot be written as ONNX; the message names the module (its path and type) and what
/// can be done instead.</summary>
public sealed class OnnxExportException(string message) : EvenConvException(message);
