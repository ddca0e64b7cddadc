using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Analysis;

/// <summary>One spatial layer (a convolution, pooling, padding or resampling) met while tracing a network.</summary>
/// <param name="Index">Execution order, 0-based.</param>
/// <param name="Name">Module path as in the state dict ("stage1.0.conv2"), or the type name for the root.</param>
/// <param name="Type">Module type and, for EvenConv convolutions, the kind ("ConvLayer c2sp").</param>
/// <param name="Height">Output height.</param>
/// <param name="Width">Output width.</param>
/// <param name="Y">Vertical geometry of the output on the network input.</param>
/// <param name="X">Horizontal geometry of the output on the network input.</param>
/// <param name="StepY">This layer's own change of the vertical offset, in input pixels.</param>
/// <param name="StepX">This layer's own change of the horizontal offset, in input pixels.</param>
/// <param name="Parent">Index of the layer whose output this one reads (−1: the network input).</param>
/// <param name="MainPath">On the deepest path from input to output (not a shortcut branch).</param>
/// <param name="Assumed">The map was not read from the layer's definition but assumed (an unknown module that
/// changes the size is taken to resample in alignment with the image extent).</param>
public sealed record ShiftLayer(int Index, string Name, string Type, long Height, long Width, AxisGeometry Y, AxisGeometry X,
    double StepY, double StepX, int Parent, bool MainPath, bool Assumed)
{
    /// <summary>Cumulative vertical offset of the output grid, input pixels (see <see cref="AxisGeometry.Offset"/>).</summary>
    public double OffsetY => Y.Offset;

    /// <summary>Cumulative horizontal offset of the output grid, input pixels.</summary>
    public double OffsetX => X.Offset;
}

/// <summary>The spatial layers of a network in execution order, with their cumulative offsets.</summary>
public sealed record ShiftTrace(long InputHeight, long InputWidth, IReadOnlyList<ShiftLayer> Layers)
{
    /// <summary>The layers on the main path (input to deepest output), in order.</summary>
    public IReadOnlyList<ShiftLayer> MainPath => Layers.Where(l => l.MainPath).ToList();

    /// <summary>Offset of the last main-path layer: where the deepest features sit, in input pixels.</summary>
    public (double Y, double X) Total => MainPath.Count == 0 ? (0, 0) : (MainPath[^1].OffsetY, MainPath[^1].OffsetX);
}

/// <summary>
/// Traces the cumulative spatial offset of every layer of a module tree with forward hooks, so the order is the real
/// dataflow. Each tensor a module returns carries the geometry of its producer; a module reading a tensor made by
/// functional code (a residual sum, a functional ReLU) is matched to the deepest known map of the same size, and a
/// container's output takes the deepest geometry produced inside it (the residual branch, not the shortcut).
/// Only <c>Module&lt;Tensor, Tensor&gt;</c> modules are hooked; what they do is what is traced.
/// </summary>
public static class ShiftTracer
{
    /// <summary>Traces <paramref name="model"/> on a zero input of the given size (eval mode during the pass).</summary>
    public static ShiftTrace Trace(nn.Module<Tensor, Tensor> model, long channels, long height, long width)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var input = zeros(1, channels, height, width);
        return Trace(model, input, null);
    }

    /// <summary>
    /// Traces <paramref name="model"/> on <paramref name="input"/> (N, C, H, W), calling <paramref name="onLayer"/>
    /// with each spatial layer's output as it is produced (valid only inside the callback unless the caller keeps
    /// it). The model runs in eval mode and is restored to its previous mode afterwards; gradients follow the
    /// caller's grad mode, so the outputs can be differentiated.
    /// </summary>
    public static ShiftTrace Trace(nn.Module<Tensor, Tensor> model, Tensor input, Action<ShiftLayer, Tensor>? onLayer)
    {
        if (input.dim() != 4) throw new ArgumentException($"Shift tracing needs an (N, C, H, W) input, got shape [{string.Join(", ", input.shape)}].");
        var state = new TraceState(input, onLayer);
        var removers = new List<Action>();
        var wasTraining = model.training;
        model.eval();
        try
        {
            foreach (var (name, module) in model.named_modules().Prepend((model.GetName(), model)))
            {
                if (module is not nn.Module<Tensor, Tensor> m) continue;
                var isRoot = ReferenceEquals(m, model);
                var leaf = !m.children().Any();
                removers.Add(m.register_forward_pre_hook((mod, x) => { state.Enter(x); return x; }).remove);
                removers.Add(m.register_forward_hook((mod, x, y) => { state.Exit(mod, isRoot ? mod.GetType().Name : name, leaf, y); return y; }).remove);
            }
            using var output = model.call(input);
        }
        finally
        {
            foreach (var remove in removers) remove();
            if (wasTraining) model.train();
        }
        return new ShiftTrace(input.shape[2], input.shape[3], state.Finish());
    }

    /// <summary>The geometry of one tensor, and the layer that produced it.</summary>
    private sealed record Geometry(AxisGeometry Y, AxisGeometry X, long Height, long Width, int Producer)
    {
        public double Depth => Y.ReceptiveField + X.ReceptiveField;
    }

    private sealed class TraceState(Tensor input, Action<ShiftLayer, Tensor>? onLayer)
    {
        private readonly Dictionary<Tensor, Geometry> _byTensor = new(ReferenceEqualityComparer.Instance);
        private readonly List<Geometry> _produced = [];
        private readonly Stack<(Geometry Input, int ProducedAt)> _frames = new();
        private readonly List<ShiftLayer> _layers = [];

        public void Enter(Tensor x) => _frames.Push((Resolve(x), _produced.Count));

        public void Exit(nn.Module module, string name, bool leaf, Tensor output)
        {
            var (inGeo, producedAt) = _frames.Pop();
            if (output.dim() != 4) return;
            long h = output.shape[2], w = output.shape[3];
            Geometry outGeo;
            if (leaf)
            {
                var map = SpatialMaps.Describe(module, inGeo.Height, inGeo.Width, h, w);
                if (map is null && h == inGeo.Height && w == inGeo.Width)
                    outGeo = inGeo with { };   // pointwise: same place
                else
                    outGeo = AddLayer(module, name, inGeo, map ?? (AxisMap.ExtentAligned(inGeo.Height, h), AxisMap.ExtentAligned(inGeo.Width, w)), map is null, h, w, output);
            }
            else
            {
                // A block: its output is where its deepest inner map of the output's size is (a residual sum stays on
                // the branch's grid); a block that resamples by functional code is assumed extent-aligned.
                var inner = Deepest(_produced.Skip(producedAt), h, w);
                outGeo = inner ?? (h == inGeo.Height && w == inGeo.Width
                    ? inGeo
                    : AddLayer(module, name, inGeo, (AxisMap.ExtentAligned(inGeo.Height, h), AxisMap.ExtentAligned(inGeo.Width, w)), true, h, w, output));
            }
            _byTensor[output] = outGeo;
            _produced.Add(outGeo);
        }

        public IReadOnlyList<ShiftLayer> Finish()
        {
            if (_layers.Count == 0) return _layers;
            // The main path ends at the deepest layer (widest receptive field, the later on ties) and runs back
            // through the producers of each layer's input.
            var end = _layers.Select((l, i) => (Depth: l.Y.ReceptiveField + l.X.ReceptiveField, i)).Max().i;
            var main = new HashSet<int>();
            for (var i = end; i >= 0; i = _layers[i].Parent) main.Add(i);
            return _layers.Select(l => main.Contains(l.Index) ? l with { MainPath = true } : l).ToList();
        }

        private Geometry AddLayer(nn.Module module, string name, Geometry inGeo, (AxisMap Y, AxisMap X) map, bool assumed, long h, long w, Tensor output)
        {
            AxisGeometry y = inGeo.Y.Through(map.Y), x = inGeo.X.Through(map.X);
            var layer = new ShiftLayer(_layers.Count, name, Describe(module), h, w, y, x,
                y.Offset - inGeo.Y.Offset, x.Offset - inGeo.X.Offset, inGeo.Producer, false, assumed);
            _layers.Add(layer);
            onLayer?.Invoke(layer, output);
            return new Geometry(y, x, h, w, layer.Index);
        }

        private Geometry Resolve(Tensor x)
        {
            if (_byTensor.TryGetValue(x, out var known)) return known;
            long h = x.dim() == 4 ? x.shape[2] : 1, w = x.dim() == 4 ? x.shape[3] : 1;
            if (ReferenceEquals(x, input) || _produced.Count == 0)
                return new Geometry(AxisGeometry.Input, AxisGeometry.Input, h, w, -1);
            // Made by functional code: the deepest map of the same size, else the latest map resampled to this size.
            var same = Deepest(_produced, h, w);
            if (same is not null) return same;
            var last = _produced[^1];
            return last with
            {
                Y = last.Y.Through(AxisMap.ExtentAligned(last.Height, h)),
                X = last.X.Through(AxisMap.ExtentAligned(last.Width, w)),
                Height = h,
                Width = w,
            };
        }

        private static Geometry? Deepest(IEnumerable<Geometry> candidates, long h, long w)
        {
            Geometry? best = null;
            foreach (var g in candidates)
                if (g.Height == h && g.Width == w && (best is null || g.Depth >= best.Depth)) best = g;
            return best;
        }

        private static string Describe(nn.Module module) => module switch
        {
            Layers.ConvLayer c => $"ConvLayer {c.Spec.Kind}" + (c.Spec.Stride > 1 ? $" /{c.Spec.Stride} {c.Spec.StrideMode.ToString().ToLowerInvariant()}" : ""),
            _ => module.GetType().Name,
        };
    }
}
