using EvenConv.Layers;
using EvenConv.Ops;
using EvenConv.Tests.Reference;
using TorchSharp;
using static EvenConv.Tests.Reference.TestTensors;
using static TorchSharp.torch;

namespace EvenConv.Tests.Layers;

/// <summary>One layer configuration of the tests; <see cref="ToString"/> is what a failure message shows.</summary>
internal sealed record ConvCase(string Kind, int InChannels, int OutChannels, int Stride = 1, StrideMode Mode = StrideMode.Strided,
    int Groups = 1, int Dilation = 1, bool Bias = false, int Batch = 2, int Height = 7, int Width = 10, MemoryLayout Layout = MemoryLayout.Nchw)
{
    public ConvSpec Spec => new(InChannels, OutChannels, ConvKind.Parse(Kind), Stride, Mode, Groups, Bias, Dilation);

    public override string ToString() =>
        $"{Kind} {InChannels}→{OutChannels} stride {Stride} {Mode} groups {Groups} dilation {Dilation}{(Bias ? " bias" : "")} input {Batch}×{Height}×{Width} {Layout}";
}

/// <summary>
/// A layer built through the public factory, with seeded random weights, bias and input in the given dtype and layout,
/// next to the float64 loop reference of the same spec.
/// </summary>
internal sealed class ConvUnderTest : IDisposable
{
    private readonly ScalarType _dtype;

    public ConvUnderTest(ConvCase c, ScalarType dtype = ScalarType.Float64, int seed = 1)
    {
        Case = c;
        _dtype = dtype;
        var rng = new Random(seed);
        var k = c.Spec.Kind.KernelSize;
        Layer = Conv.Create(c.Spec, layout: c.Layout);
        if (dtype != ScalarType.Float32) Layer.to(dtype);
        W = Random(rng, c.OutChannels, c.InChannels / c.Groups, k, k);
        B = c.Bias ? RandomVector(rng, c.OutChannels) : null;
        X = Random(rng, c.Batch, c.InChannels, c.Height, c.Width);
        SetWeight(W);
        if (B is not null)
        {
            using var _ = no_grad();
            using var b = tensor(B);
            Layer.Bias!.copy_(b);
        }
        Reference = new ReferenceConv(c.Spec);
    }

    public ConvCase Case { get; }
    public ConvLayer Layer { get; }
    public ReferenceConv Reference { get; }
    public double[,,,] W { get; }
    public double[]? B { get; }
    public double[,,,] X { get; }

    /// <summary>The layer's output for <paramref name="x"/>, without a graph.</summary>
    public double[,,,] Run(double[,,,] x)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return ToArray(Layer.call(ToTensor(x, _dtype, Case.Layout)));
    }

    /// <summary>Σ layer(x)·gy, the scalar whose gradients are checked.</summary>
    public double Loss(double[,,,] x, double[,,,] gy)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return Dot(Layer.call(ToTensor(x, _dtype, Case.Layout)), ToTensor(gy, _dtype, Case.Layout));
    }

    /// <summary>Autograd's gradients of Σ layer(X)·gy with respect to the input, the weight and the bias.</summary>
    public (double[,,,] X, double[,,,] W, double[]? B) Gradients(double[,,,] gy)
    {
        using var scope = NewDisposeScope();
        Layer.zero_grad();
        var x = ToTensor(X, _dtype, Case.Layout).requires_grad_();
        (Layer.call(x) * ToTensor(gy, _dtype, Case.Layout)).sum().backward();
        return (ToArray(x.grad!), ToArray(Layer.Weight.grad!), Layer.Bias is null ? null : ToVector(Layer.Bias.grad!));
    }

    public void SetWeight(double[,,,] w)
    {
        using var _ = no_grad();
        using var t = ToTensor(w);
        Layer.Weight.copy_(t);
    }

    public void Dispose() => Layer.Dispose();
}
