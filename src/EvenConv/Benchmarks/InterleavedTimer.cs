using System.Diagnostics;

namespace EvenConv.Benchmarks;

/// <summary>
/// Times several actions side by side: each is warmed up, then timed in interleaved rounds (A B C … A B C …) so that
/// changes in machine load fall on all of them alike. A sample repeats an action until it lasts at least
/// <c>minSampleMs</c>, so timer resolution and per-call jitter fade; compare medians.
/// </summary>
public static class InterleavedTimer
{
    /// <summary>Milliseconds per call: one list of samples per action, one sample per round.</summary>
    public static List<double>[] Time(IReadOnlyList<Action> actions, int warmupCalls, int rounds, double minSampleMs, CancellationToken cancel = default)
    {
        var reps = new int[actions.Count];
        for (var i = 0; i < actions.Count; i++)
        {
            for (var w = 0; w < warmupCalls; w++) actions[i]();
            var once = TimeMs(actions[i], 1);
            reps[i] = Math.Clamp((int)Math.Ceiling(minSampleMs / Math.Max(once, 1e-3)), 1, 1000);
        }
        var samples = actions.Select(_ => new List<double>(rounds)).ToArray();
        for (var r = 0; r < rounds; r++)
        {
            cancel.ThrowIfCancellationRequested();
            for (var i = 0; i < actions.Count; i++) samples[i].Add(TimeMs(actions[i], reps[i]));
        }
        return samples;
    }

    /// <summary>The median of a non-empty sample.</summary>
    public static double Median(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("The median of no samples is undefined.", nameof(samples));
        var s = samples.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static double TimeMs(Action action, int reps)
    {
        var sw = Stopwatch.StartNew();
        for (var k = 0; k < reps; k++) action();
        return sw.Elapsed.TotalMilliseconds / reps;
    }
}
