using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EvenConv.IO;

/// <summary>
/// A small table of results with named columns, written as CSV, as JSON (an array of objects whose keys are the column
/// names) and as a Markdown table — the three forms every report of EvenConv uses. Numbers are written with the invariant
/// culture; null cells are empty in CSV, null in JSON and blank in Markdown.
/// </summary>
public sealed class ResultTable(params string[] columns)
{
    private readonly List<object?[]> _rows = [];

    /// <summary>Column names, in order.</summary>
    public IReadOnlyList<string> Columns { get; } = columns;

    /// <summary>Rows, each with one cell per column.</summary>
    public IReadOnlyList<object?[]> Rows => _rows;

    /// <summary>Adds a row; there must be one value per column.</summary>
    public ResultTable Add(params object?[] cells)
    {
        if (cells.Length != Columns.Count) throw new ArgumentException($"A row needs {Columns.Count} cells ({string.Join(", ", Columns)}), got {cells.Length}.");
        _rows.Add(cells);
        return this;
    }

    /// <summary>Writes the table as CSV, atomically.</summary>
    public void WriteCsv(string path)
    {
        var csv = new StringBuilder().AppendJoin(',', Columns.Select(Quote)).Append('\n');
        foreach (var row in _rows) csv.AppendJoin(',', row.Select(c => Quote(Format(c, "R")))).Append('\n');
        AtomicFile.WriteAllText(path, csv.ToString());
    }

    /// <summary>The table as a JSON array of objects.</summary>
    public JsonArray ToJson()
    {
        var array = new JsonArray();
        foreach (var row in _rows)
        {
            var obj = new JsonObject();
            for (var i = 0; i < Columns.Count; i++) obj[Columns[i]] = ToNode(row[i]);
            array.Add(obj);
        }
        return array;
    }

    /// <summary>Writes <c>{"&lt;rootName&gt;": [ ... ]}</c>, atomically.</summary>
    public void WriteJson(string path, string rootName = "rows") =>
        AtomicFile.WriteAllText(path, new JsonObject { [rootName] = ToJson() }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>A Markdown table; doubles use <paramref name="numberFormat"/>.</summary>
    public string ToMarkdown(string numberFormat = "G4")
    {
        var md = new StringBuilder().Append("| ").AppendJoin(" | ", Columns).Append(" |\n|").Append(string.Concat(Enumerable.Repeat("---|", Columns.Count))).Append('\n');
        foreach (var row in _rows) md.Append("| ").AppendJoin(" | ", row.Select(c => Format(c, numberFormat).Replace("|", "\\|", StringComparison.Ordinal))).Append(" |\n");
        return md.ToString();
    }

    private static JsonNode? ToNode(object? cell) => cell switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => double.IsFinite(d) ? JsonValue.Create(d) : null,
        float f => float.IsFinite(f) ? JsonValue.Create(f) : null,
        _ => JsonValue.Create(Format(cell, "R")),
    };

    private static string Format(object? cell, string numberFormat) => cell switch
    {
        null => "",
        double d => d.ToString(numberFormat, CultureInfo.InvariantCulture),
        float f => f.ToString(numberFormat, CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
