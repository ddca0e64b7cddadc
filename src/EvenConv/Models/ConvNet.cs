using EvenConv.Interop.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>
/// A run of blocks at one resolution (one ResNet stage, one dense block), optionally followed by a transition that
/// changes the resolution. Parameter names: <c>blocks.{i}.…</c> and <c>transition.…</c>.
/// </summary>
public sealed class Stage : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> blocks;
    private readonly nn.Module<Tensor, Tensor>? transition;

    public Stage(IEnumerable<nn.Module<Tensor, Tensor>> blocks, nn.Module<Tensor, Tensor>? transition = null) : base("stage")
    {
        this.blocks = nn.ModuleList(blocks.ToArray());
        this.transition = transition;
        RegisterComponents();
    }

    /// <summary>The blocks in order.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Blocks => blocks.ToList();

    /// <summary>A stage of <paramref name="count"/> blocks made by <paramref name="block"/>(in, out, stride): the first
    /// changes the width from <paramref name="inChannels"/> to <paramref name="outChannels"/> and has the stage's
    /// <paramref name="stride"/>, the others keep both.</summary>
    public static Stage OfBlocks(int inChannels, int outChannels, int count, int stride, Func<int, int, int, nn.Module<Tensor, Tensor>> block)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new(Enumerable.Range(0, count).Select(i => block(i == 0 ? inChannels : outChannels, outChannels, i == 0 ? stride : 1)).ToList());
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        foreach (var block in blocks) x = block.call(x);
        if (transition is not null) x = transition.call(x);
        return x.MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input)
    {
        var x = blocks.Aggregate(input, (value, block) => graph.Module(block, value));
        return transition is null ? x : graph.Module(transition, x);
    }
}

/// <summary>
/// Every model of the zoo: <c>stem</c> → <c>stages.{i}</c> → <c>head</c>, so parameter names are stable and alike across
/// families (<c>stem.conv.weight</c>, <c>stages.0.blocks.0.conv1.weight</c>, <c>head.fc.weight</c>).
/// </summary>
public sealed class ConvNet : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Stem stem;
    private readonly ModuleList<Stage> stages;
    private readonly ClassifierHead head;

    public ConvNet(string name, Stem stem, IEnumerable<Stage> stages, ClassifierHead head) : base(name)
    {
        this.stem = stem;
        this.stages = nn.ModuleList(stages.ToArray());
        this.head = head;
        RegisterComponents();
    }

    /// <summary>The stages in order (for feature inspection).</summary>
    public IReadOnlyList<Stage> Stages => stages.ToList();

    /// <summary>The feature map before the classifier head.</summary>
    public Tensor ForwardFeatures(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = stem.call(input);
        foreach (var stage in stages) x = stage.call(x);
        return x.MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return head.call(ForwardFeatures(input)).MoveToOuterDisposeScope();
    }

    public string WriteOnnx(OnnxGraph graph, string input) =>
        graph.Module(head, stages.Aggregate(graph.Module(stem, input), (value, stage) => graph.Module(stage, value)));
}
