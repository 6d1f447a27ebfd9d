using System.Text.Json;
using System.Text.Json.Nodes;

namespace Weft.Cli.Lab;

/// <summary>--json: the whole run as one JSON document; figures that are not numbers (NaN) are left out, chart gaps are null.</summary>
internal static class JsonReport
{
    public static string Write(LabRun run)
    {
        var experiments = new JsonArray();
        foreach (var r in run.Experiments)
        {
            var figures = new JsonObject();
            foreach (var (k, v) in r.Figures.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (double.IsFinite(v)) figures[k] = v;
            }
            experiments.Add(new JsonObject
            {
                ["id"] = r.Id,
                ["title"] = r.Title,
                ["claim"] = r.Claim,
                ["measured"] = r.Measured,
                ["verdict"] = r.Verdict.ToString(),
                ["verdictText"] = r.Verdict.Words(),
                ["reason"] = r.Reason,
                ["seconds"] = Math.Round(r.Seconds, 3),
                ["figures"] = figures,
                ["tables"] = new JsonArray(r.Tables.Select(t => (JsonNode)new JsonObject
                {
                    ["title"] = t.Title,
                    ["columns"] = new JsonArray(t.Columns.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray()),
                    ["rows"] = new JsonArray(t.Rows.Select(row => (JsonNode)new JsonArray(row.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray())).ToArray()),
                }).ToArray()),
                ["notes"] = new JsonArray(r.Notes.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
            });
        }
        var doc = new JsonObject
        {
            ["tool"] = "weft lab",
            ["machine"] = run.Machine,
            ["runtime"] = run.Runtime,
            ["quick"] = run.Quick,
            ["startedUtc"] = run.StartedUtc.ToString("O"),
            ["experiments"] = experiments,
        };
        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
