using EvenConv.Layers;
using EvenConv.Ops;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EvenConv.Benchmarks;

/// <summary>
/// One thing the convolution benchmark times: a stride-1, C→C layer built by the library (Conv.Create), the same C2sp
/// layer sent down the plain route (pad into a tensor, oneDNN, pad again and gather in backward), a depthwise-separable
/// block, or the naive C2sp of the paper's authors (four pads and a concatenation).
/// </summary>
public sealed class ConvVariant : IDisposable
{
    /// <summary>The variant names, in table order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["c3", "c2", "c2sp", "c2sp_plain", "c2sp_naive", "c4", "c4sp", "c5", "dws"];

    private readonly nn.Module<Tensor, Tensor>[] layers;
    private readonly Func<Tensor, Tensor> forward;

    private ConvVariant(string name, long macsPerPixel, Func<Tensor, Tensor> forward, params nn.Module<Tensor, Tensor>[] layers)
        : this(name, macsPerPixel, forward, plainRoute: false, layers)
    {
    }

    private ConvVariant(string name, long macsPerPixel, Func<Tensor, Tensor> forward, bool plainRoute, params nn.Module<Tensor, Tensor>[] layers)
    {
        Name = name;
        PlainRoute = plainRoute;
        MacsPerPixel = macsPerPixel;
        this.forward = forward;
        this.layers = layers;
    }

    public string Name { get; }

    /// <summary>True when the variant's forward and backward must run under <see cref="Enter"/>'s plain-route scope.</summary>
    private bool PlainRoute { get; }

    /// <summary>The scope a forward and its backward run in: the plain route for <c>c2sp_plain</c>, nothing otherwise.</summary>
    public IDisposable? Enter() => PlainRoute ? Ops.Kernels.SymmetricConv2x2.UsePlainRoute() : null;

    /// <summary>Multiply-adds per output pixel (all output channels); FLOPs are 2 per multiply-add.</summary>
    public long MacsPerPixel { get; }

    /// <summary>The trainable tensors, for the backward pass.</summary>
    public IReadOnlyList<Tensor> Parameters => layers.SelectMany(l => l.parameters()).ToList();

    /// <summary>Runs the variant on <paramref name="input"/>.</summary>
    public Tensor Forward(Tensor input) => forward(input);

    /// <summary>Forward FLOPs for a batch of the given shape (2 per multiply-add).</summary>
    public double ForwardFlops(ConvBenchmarkShape s) => 2.0 * s.Batch * s.Size * s.Size * MacsPerPixel;

    /// <summary>Builds the named variant for C channels in the given layout.</summary>
    public static ConvVariant Create(string name, int channels, MemoryLayout layout)
    {
        long c = channels;
        ConvLayer Layer(string kind, int groups = 1) =>
            Conv.Create(new ConvSpec(channels, channels, ConvKind.Parse(kind), Groups: groups), layout: layout);
        switch (name)
        {
            case "dws":
                var depthwise = Layer("c3", groups: channels);
                var pointwise = Layer("c1");
                return new ConvVariant(name, c * 9 + c * c, x => pointwise.call(depthwise.call(x)), depthwise, pointwise);
            case "c2sp_plain":
                var plain = Layer("c2sp");
                return new ConvVariant(name, c * c * 4, plain.call, plainRoute: true, plain);
            case "c2sp_naive":
                var naive = new NaiveSymmetricConv(channels, layout);
                return new ConvVariant(name, c * c * 4, naive.call, naive);
            default:
                var kind = ConvKind.Parse(name);
                var layer = Layer(name);
                return new ConvVariant(kind.ToString(), c * c * kind.KernelSize * kind.KernelSize, layer.call, layer);
        }
    }

    public void Dispose()
    {
        foreach (var l in layers) l.Dispose();
    }

    /// <summary>
    /// C2sp as the paper's authors wrote it: split the channels into the four groups, pad each with its own
    /// <c>pad</c>, concatenate, convolve. Autograd keeps the concatenated copy for backward. The baseline that shows
    /// what the fused op gains; not for use in models.
    /// </summary>
    private sealed class NaiveSymmetricConv : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Parameter weight;
        private readonly long[] groupSizes;
        private readonly long[][] pads;

        public NaiveSymmetricConv(int channels, MemoryLayout layout) : base("c2sp_naive")
        {
            var w = empty(channels, channels, 2, 2);
            ConvInit.HeNormalFanIn(w);
            weight = nn.Parameter(TensorLayout.To(w, layout));
            groupSizes = SymmetricPadding.GroupSizes(channels).Where(n => n > 0).ToArray();
            pads = SymmetricPadding.GroupPadding(2).Select(p => p.ToTorchPadArgument()).ToArray();
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var groups = input.split(groupSizes, 1);
            var padded = cat(groups.Select((g, i) => F.pad(g, pads[i])).ToArray(), 1);
            return F.conv2d(padded, weight);
        }
    }
}
