using System.Collections.Concurrent;
using System.Globalization;
using EvenConv.Ops.Routing;
using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// libtorch's own convolution backward (<c>aten::convolution_backward</c>: oneDNN on CPU, cuDNN on GPU) for custom
/// autograd functions. TorchSharp 0.107 binds no backward primitive, and the alternatives are worse: conv_transpose2d
/// gives the input gradient only, and re-running the forward under autograd costs a whole extra convolution. A
/// TorchScript function reaches the op directly; one is compiled per configuration on first use.
/// </summary>
internal static class ConvolutionBackward
{
    private static readonly ConcurrentDictionary<string, jit.CompilationUnit> Compiled = new();

    /// <summary>Gradients of a valid (unpadded) conv2d of <paramref name="input"/> with <paramref name="weight"/>
    /// for the upstream gradient <paramref name="gradOutput"/>; an entry is null where it was not asked for.</summary>
    public static (Tensor? Input, Tensor? Weight) Compute(Tensor gradOutput, Tensor input, Tensor weight,
        long stride, long dilation, long groups, bool needInput, bool needWeight)
    {
        if (!needInput && !needWeight) return (null, null);
        // Where oneDNN is wrong for this shape (ConvRouting), differentiate the GEMM form instead.
        if (input.device_type == DeviceType.CPU && ConvRouting.RouteFor(input, weight, stride, 0, dilation, groups, backward: true) == ConvRoute.Gemm)
            return GemmBackward(gradOutput, input, weight, stride, dilation, groups, needInput, needWeight);
        var key = string.Create(CultureInfo.InvariantCulture, $"{stride},{dilation},{groups},{needInput},{needWeight}");
        var unit = Compiled.GetOrAdd(key, _ => jit.compile(Script(stride, dilation, groups, needInput, needWeight)));
        var result = InvokeUnoptimized(unit, gradOutput, input, weight);
        return (needInput, needWeight) switch
        {
            (true, true) => ((Tensor, Tensor))result,
            (true, false) => ((Tensor)result, null),
            _ => (null, (Tensor)result),
        };
    }

    private static (Tensor? Input, Tensor? Weight) GemmBackward(Tensor gradOutput, Tensor input, Tensor weight,
        long stride, long dilation, long groups, bool needInput, bool needWeight)
    {
        using var grad = enable_grad();
        using var x = input.detach().requires_grad_(needInput);
        using var w = weight.detach().requires_grad_(needWeight);
        using var y = GemmConv.Apply(x, w, null, stride, 0, dilation, groups);
        var wanted = new List<Tensor>();
        if (needInput) wanted.Add(x);
        if (needWeight) wanted.Add(w);
        var grads = autograd.grad([y], wanted, [gradOutput]);
        return (needInput ? grads[0] : null, needWeight ? grads[^1] : null);
    }

    // The graph executor's optimising (profiling) mode specialises and guards the one-op graph for each new shape;
    // in a ResNet-20 training step that cost about 15 % of the C2sp step (median 197 → 170 ms, 2 threads). The flag is
    // per thread, so switching it off around the call leaves any other TorchScript in the process as it was.
    private static unsafe object InvokeUnoptimized(jit.CompilationUnit unit, params object[] args)
    {
        if (LibTorchExports.GetGraphExecutorOptimize == null || LibTorchExports.SetGraphExecutorOptimize == null)
            return unit.invoke("backward", args);
        var previous = LibTorchExports.GetGraphExecutorOptimize();
        LibTorchExports.SetGraphExecutorOptimize(0);
        try { return unit.invoke("backward", args); }
        finally { LibTorchExports.SetGraphExecutorOptimize(previous); }
    }

    private static string Script(long stride, long dilation, long groups, bool needInput, bool needWeight)
    {
        var returned = (needInput, needWeight) switch { (true, true) => "r[0], r[1]", (true, false) => "r[0]", _ => "r[1]" };
        return string.Create(CultureInfo.InvariantCulture, $"""
            def backward(g, x, w):
                r = torch.convolution_backward(g, x, w, None, [{stride}, {stride}], [0, 0], [{dilation}, {dilation}], False, [0, 0], {groups}, [{Py(needInput)}, {Py(needWeight)}, False])
                return {returned}


            """);
    }

    private static string Py(bool b) => b ? "True" : "False";
}
