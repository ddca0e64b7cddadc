using EvenConv.IO;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EvenConv.Layers;

namespace EvenConv.Analysis;

/// <summary>CSV and JSON files of the shift and erosion analyses, written atomically. Numbers use the invariant
/// culture and round-trip precision.</summary>
public static class AnalysisReports
{
    /// <summary>Shift trace as JSON: <c>{"layers":[{"name","offset_y","offset_x",…}],"total":{"y","x"}}</c>, offsets in
    /// input pixels; measured offsets are added per layer when given.</summary>
    public static void WriteShiftJson(string path, string model, ShiftTrace trace, IReadOnlyList<MeasuredShift>? measured = null)
    {
        var byIndex = measured?.ToDictionary(m => m.Layer.Index) ?? [];
        WriteJson(path, w =>
        {
            w.WriteString("model", model);
            w.WriteStartObject("input");
            w.WriteNumber("height", trace.InputHeight);
            w.WriteNumber("width", trace.InputWidth);
            w.WriteEndObject();
            w.WriteString("units", "input pixels; positive offset = output grid sits below/right of its symmetric position, so content appears moved up/left");
            w.WriteStartArray("layers");
            foreach (var l in trace.Layers)
            {
                w.WriteStartObject();
                w.WriteString("name", l.Name);
                w.WriteString("type", l.Type);
                w.WriteNumber("offset_y", l.OffsetY);
                w.WriteNumber("offset_x", l.OffsetX);
                w.WriteNumber("step_y", l.StepY);
                w.WriteNumber("step_x", l.StepX);
                w.WriteNumber("height", l.Height);
                w.WriteNumber("width", l.Width);
                w.WriteNumber("scale_y", l.Y.Scale);
                w.WriteNumber("scale_x", l.X.Scale);
                w.WriteNumber("receptive_field_y", l.Y.ReceptiveField);
                w.WriteNumber("receptive_field_x", l.X.ReceptiveField);
                w.WriteBoolean("main_path", l.MainPath);
                if (l.Assumed) w.WriteBoolean("assumed", true);
                if (byIndex.TryGetValue(l.Index, out var m))
                {
                    w.WriteNumber("measured_offset_y", m.OffsetY);
                    w.WriteNumber("measured_offset_x", m.OffsetX);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("total");
            w.WriteNumber("y", trace.Total.Y);
            w.WriteNumber("x", trace.Total.X);
            w.WriteEndObject();
        });
    }

    /// <summary>Reconstruction curves as CSV: one row per layer n, one Q column per kind.</summary>
    public static void WriteErosionCsv(string path, IReadOnlyList<ErosionCurve> curves)
    {
        var csv = new StringBuilder("layer," + string.Join(",", curves.Select(c => c.Kind.ToString())) + "\n");
        for (var n = 0; n < curves[0].Q.Count; n++)
            csv.Append(n.ToString(CultureInfo.InvariantCulture)).Append(',').AppendJoin(',', curves.Select(c => Num(c.Q[n]))).Append('\n');
        AtomicFile.WriteAllText(path, csv.ToString());
    }

    /// <summary>Reconstruction curves as JSON: <c>{"kinds":{"c2":[Q_0,…,Q_L],…},"setup":{…}}</c>.</summary>
    public static void WriteErosionJson(string path, IReadOnlyList<ErosionCurve> curves, ErosionSetup setup) =>
        WriteJson(path, w =>
        {
            w.WriteStartObject("kinds");
            foreach (var c in curves) WriteArray(w, c.Kind.ToString(), c.Q);
            w.WriteEndObject();
            w.WriteStartObject("setup");
            w.WriteNumber("size", setup.Size);
            w.WriteNumber("layers_per_stage", setup.LayersPerStage);
            w.WriteNumber("stages", setup.Stages);
            w.WriteNumber("value", setup.Value);
            w.WriteString("q", "mean |F_n| over all positions and channels; layer 0 is the input");
            w.WriteEndObject();
        });

    /// <summary>Real-model measurements as CSV: kind, layer, name, size, Q, centroid (input pixels from the centre).</summary>
    public static void WriteModelErosionCsv(string path, IReadOnlyList<(ConvKind Kind, ModelErosionResult Result)> runs)
    {
        var csv = new StringBuilder("kind,layer,name,height,width,q,centroid_y,centroid_x\n");
        foreach (var (kind, r) in runs)
            foreach (var l in r.Layers)
                csv.Append(CultureInfo.InvariantCulture, $"{kind},{l.Index},{l.Name},{l.Height},{l.Width},{Num(l.Q)},{Num(l.CentroidY)},{Num(l.CentroidX)}\n");
        AtomicFile.WriteAllText(path, csv.ToString());
    }

    /// <summary>Real-model measurements as JSON: <c>{"kinds":{"c2":[Q_0,…]},"layers":{"c2":[{…}]},…}</c>.</summary>
    public static void WriteModelErosionJson(string path, string model, IReadOnlyList<(ConvKind Kind, ModelErosionResult Result)> runs) =>
        WriteJson(path, w =>
        {
            w.WriteString("model", model);
            w.WriteString("dataset", runs[0].Result.Dataset);
            w.WriteNumber("images", runs[0].Result.Images);
            w.WriteStartObject("kinds");
            foreach (var (kind, r) in runs) WriteArray(w, kind.ToString(), r.Layers.Select(l => l.Q).ToList());
            w.WriteEndObject();
            w.WriteStartObject("layers");
            foreach (var (kind, r) in runs)
            {
                w.WriteStartArray(kind.ToString());
                foreach (var l in r.Layers)
                {
                    w.WriteStartObject();
                    w.WriteNumber("layer", l.Index);
                    w.WriteString("name", l.Name);
                    w.WriteNumber("height", l.Height);
                    w.WriteNumber("width", l.Width);
                    w.WriteNumber("q", l.Q);
                    w.WriteNumber("centroid_y", l.CentroidY);
                    w.WriteNumber("centroid_x", l.CentroidX);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        });

    private static void WriteArray(Utf8JsonWriter w, string name, IReadOnlyList<double> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void WriteJson(string path, Action<Utf8JsonWriter> body) =>
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        });

    private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
