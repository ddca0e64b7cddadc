using TorchSharp;
using static TorchSharp.torch;

namespace EvenConv.Ops;

/// <summary>
/// The fixed 9-direction group shift of Shift networks (Wu et al., "Shift: a zero FLOP, zero parameter alternative to
/// spatial convolutions", CVPR 2018): the channels are split into nine contiguous groups (the first <c>C % 9</c> one
/// channel larger) and group g moves its content by <see cref="Offsets"/>[g] = (dy, dx) ∈ {−1, 0, 1}², filling with zeros:
/// <c>y[:, c, i, j] = x[:, c, i − dy, j − dx]</c>. A differentiable op whose backward is the opposite shift of the
/// gradient; nothing is saved for it.
/// </summary>
public static class GroupShift
{
    /// <summary>The (dy, dx) of each group, row-major over {−1, 0, 1}²; group 4 stays in place.</summary>
    public static IReadOnlyList<(int Dy, int Dx)> Offsets { get; } =
        [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)];

    /// <summary>Sizes of the nine contiguous channel groups: the first <c>C % 9</c> get one extra channel.</summary>
    public static long[] GroupSizes(long channels)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channel count must be positive.");
        long q = channels / 9, r = channels % 9;
        return Enumerable.Range(0, 9).Select(g => q + (g < r ? 1 : 0)).ToArray();
    }

    /// <summary>Shifts each channel group of <paramref name="input"/> (N, C, H, W) by its offset; the result has the
    /// input's shape and memory layout.</summary>
    public static Tensor Apply(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"Group shift expects a 4-D (N, C, H, W) tensor, got shape [{string.Join(", ", input.shape)}].", nameof(input));
        BackwardTensors.ReleaseHandedOver();
        if (!is_grad_enabled() || !input.requires_grad) return Shift(input, 1);
        var output = GroupShiftFunction.apply(input, 1);
        AutogradOutputCache.ReleasePending();
        return output;
    }

    /// <summary>Shifts group g by sign·Offsets[g] into a zero tensor shaped like <paramref name="x"/>.</summary>
    private static Tensor Shift(Tensor x, int sign)
    {
        using var views = NewDisposeScope();   // the group views would otherwise pin x and y in the caller's scope
        var y = zeros_like(x);
        long h = x.shape[2], w = x.shape[3], start = 0;
        var sizes = GroupSizes(x.shape[1]);
        for (var g = 0; g < 9; g++)
        {
            var (dy, dx) = (sign * Offsets[g].Dy, sign * Offsets[g].Dx);
            var size = sizes[g];
            if (size > 0 && Math.Abs(dy) < h && Math.Abs(dx) < w)
            {
                // Destination rows [max(dy,0), h+min(dy,0)) read source rows [max(−dy,0), h−max(dy,0)); columns alike.
                var target = y.narrow(1, start, size).narrow(2, Math.Max(dy, 0), h - Math.Abs(dy)).narrow(3, Math.Max(dx, 0), w - Math.Abs(dx));
                target.copy_(x.narrow(1, start, size).narrow(2, Math.Max(-dy, 0), h - Math.Abs(dy)).narrow(3, Math.Max(-dx, 0), w - Math.Abs(dx)));
            }
            start += size;
        }
        return y.MoveToOuterDisposeScope();
    }

    private sealed class GroupShiftFunction : autograd.SingleTensorFunction<GroupShiftFunction>
    {
        public override string Name => "GroupShift";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            AutogradOutputCache.DropAfterApply(ctx);
            return Shift((Tensor)vars[0], (int)vars[1]);
        }

        // The shift is a permutation with zero fill, so its adjoint is the opposite shift.
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            BackwardTensors.ReleaseHandedOver();
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!];
            using var upstream = gradOutput;
            return BackwardTensors.HandOver(Shift(upstream, -1), null);
        }
    }
}
