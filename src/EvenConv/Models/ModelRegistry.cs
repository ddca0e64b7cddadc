using System.Text.RegularExpressions;
using EvenConv.Layers;
using static TorchSharp.torch;

namespace EvenConv.Models;

/// <summary>
/// Named models, timm style: <c>ModelRegistry.Create("resnet56", new ModelOptions(ConvKind.C2sp))</c>. The kernel kind
/// is an option, not part of the name. The built-in zoo is registered on first use (see <see cref="ModelZoo"/>); user
/// models can be added with <see cref="Register"/>. Thread-safe.
/// </summary>
public static class ModelRegistry
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.OrdinalIgnoreCase);

    private sealed record Entry(ModelInfo Info, Func<ModelOptions, nn.Module<Tensor, Tensor>> Factory);

    static ModelRegistry() => ModelZoo.RegisterAll();

    /// <summary>Adds a model. Names are case-insensitive and must be unique.</summary>
    /// <exception cref="ArgumentException">The name is taken, empty, or contains spaces or glob characters.</exception>
    public static void Register(ModelInfo info, Func<ModelOptions, nn.Module<Tensor, Tensor>> factory)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(factory);
        if (string.IsNullOrWhiteSpace(info.Name) || info.Name.Any(c => char.IsWhiteSpace(c) || c is '*' or '?'))
            throw new ArgumentException($"Model name '{info.Name}' is not usable: use letters, digits, '_', '.' or '-' (no spaces or glob characters).", nameof(info));
        if (info.ConvKinds is not null && !info.ConvKinds.Contains(info.DefaultConv))
            throw new ArgumentException($"Model '{info.Name}': its default kind {info.DefaultConv} is not among the kinds it accepts ({info.ConvKindsText}).", nameof(info));
        lock (Gate)
        {
            if (!Entries.TryAdd(info.Name, new Entry(info, factory)))
                throw new ArgumentException($"A model named '{info.Name}' is already registered ({Entries[info.Name].Info.Description}); choose another name.", nameof(info));
        }
    }

    /// <summary>The registered models whose name matches <paramref name="glob"/> (<c>*</c> and <c>?</c>, case-insensitive), sorted by name.</summary>
    public static IReadOnlyList<ModelInfo> List(string glob = "*")
    {
        var pattern = new Regex("^" + Regex.Escape(glob.Trim()).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        lock (Gate)
            return Entries.Values.Select(e => e.Info).Where(i => pattern.IsMatch(i.Name)).OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>True when a model of that name is registered.</summary>
    public static bool Contains(string name)
    {
        lock (Gate) return Entries.ContainsKey(name.Trim());
    }

    /// <summary>The description of a registered model.</summary>
    /// <exception cref="EvenConvException">No such model; the message lists the closest names.</exception>
    public static ModelInfo Get(string name) => Find(name).Info;

    /// <summary>Builds a fresh, randomly initialised model.</summary>
    /// <exception cref="EvenConvException">Unknown name (the message lists close matches) or a kernel kind the model does not take.</exception>
    public static nn.Module<Tensor, Tensor> Create(string name, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var entry = Find(name);
        options.Validate();
        if (!entry.Info.Accepts(options.Conv))
            throw new EvenConvException(entry.Info.ConvKinds is { Count: 1 }
                ? $"Model '{entry.Info.Name}' has a fixed spatial kernel and takes only conv kind {entry.Info.ConvKinds[0]}, not {options.Conv}: use {entry.Info.ConvKinds[0]}, or a model that varies the kernel (models list)."
                : $"Model '{entry.Info.Name}' does not take conv kind {options.Conv}; it accepts {entry.Info.ConvKindsText}.");
        return entry.Factory(options);
    }

    private static Entry Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (Gate)
        {
            if (Entries.TryGetValue(name.Trim(), out var entry)) return entry;
            var close = Suggestions.Closest(name.Trim(), Entries.Keys);
            throw new EvenConvException(close.Count > 0
                ? $"Unknown model '{name}'. Did you mean {string.Join(", ", close)}? (models list shows all)"
                : $"Unknown model '{name}'. List the registered models with: models list");
        }
    }
}
