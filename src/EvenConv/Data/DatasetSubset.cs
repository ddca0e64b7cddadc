namespace EvenConv.Data;

/// <summary>A view of evenly spaced images of another data set: quick runs and tests on a fraction of the data.</summary>
public sealed class DatasetSubset : IImageDataset
{
    private readonly IImageDataset _source;
    private readonly int[] _indices;

    /// <summary>Takes <paramref name="count"/> images spread evenly over <paramref name="source"/> (all when count ≥ its size).</summary>
    public DatasetSubset(IImageDataset source, int count)
    {
        if (count < 1) throw new ArgumentException($"a subset of {count} images is empty; give at least 1.");
        count = Math.Min(count, source.Count);
        _source = source;
        _indices = Enumerable.Range(0, count).Select(k => (int)((long)k * source.Count / count)).ToArray();
    }

    public string Name => _source.Name;
    public int Count => _indices.Length;
    public int Channels => _source.Channels;
    public int Height => _source.Height;
    public int Width => _source.Width;
    public IReadOnlyList<string> ClassNames => _source.ClassNames;
    public int Label(int index) => _source.Label(_indices[index]);
    public void ReadImage(int index, Span<byte> destination) => _source.ReadImage(_indices[index], destination);
}
