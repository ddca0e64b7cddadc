namespace EvenConv.Models;

/// <summary>"Did you mean" candidates for a mistyped name, by edit distance.</summary>
public static class Suggestions
{
    /// <summary>Up to <paramref name="max"/> candidates close to <paramref name="wanted"/>: within an edit distance of a
    /// third of its length (at least 2), or containing it; nearest first.</summary>
    public static IReadOnlyList<string> Closest(string wanted, IEnumerable<string> candidates, int max = 5)
    {
        var w = wanted.ToLowerInvariant();
        var limit = Math.Max(2, w.Length / 3);
        return candidates
            .Select(c => (Name: c, Distance: EditDistance(w, c.ToLowerInvariant())))
            .Where(c => c.Distance <= limit || (w.Length >= 3 && c.Name.Contains(w, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Take(max).Select(c => c.Name).ToList();
    }

    /// <summary>Levenshtein distance (insertions, deletions and substitutions cost 1).</summary>
    public static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
