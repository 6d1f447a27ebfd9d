// The lab's results as data: what each experiment claims, what it measured and what it concludes, in a form that the
// console view, the JSON file and the HTML report all render from. An experiment never prints; it fills one
// ExperimentResult, so the three outputs cannot disagree.
//
// Invariant: a verdict is computed from Figures of the same run (the Reason quotes them); nothing here is a constant
// typed in from an earlier run.
using System.Text.Json.Serialization;

namespace Weft.Cli.Lab;

/// <summary>What the figures say about the note's claim.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
internal enum Verdict
{
    Holds,
    DoesNotHold,
    HoldsWithCaveat,
    /// <summary>A part the claim needs is not available on this machine or build (named in the reason).</summary>
    NotChecked,
}

internal static class VerdictText
{
    public static string Words(this Verdict v) => v switch
    {
        Verdict.Holds => "holds",
        Verdict.DoesNotHold => "does not hold",
        Verdict.HoldsWithCaveat => "holds with a caveat",
        _ => "not checked",
    };
}

/// <summary>One series of a chart: a value per category; null where there is none (drawn as a gap).</summary>
internal sealed record Series(string Name, IReadOnlyList<double?> Values);

/// <summary>A chart: grouped bars, or lines over numeric categories (speed-up against processors).</summary>
internal sealed record Chart(string Title, string Unit, string Kind, IReadOnlyList<string> Categories, IReadOnlyList<Series> Series, bool LogScale = false);

/// <summary>A table as the console and the report show it; Figures keeps the raw numbers.</summary>
internal sealed record ResultTable(string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

internal sealed class ExperimentResult
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    /// <summary>The note's claim, in short words.</summary>
    public required string Claim { get; init; }
    /// <summary>What was measured, and how.</summary>
    public required string Measured { get; init; }
    public List<ResultTable> Tables { get; } = [];
    /// <summary>Every figure the verdict and the tables use, by name ("goroutine.switch_ns").</summary>
    public Dictionary<string, double> Figures { get; } = [];
    public List<Chart> Charts { get; } = [];
    public List<string> Notes { get; } = [];
    public Verdict Verdict { get; set; }
    /// <summary>Why, with the figures.</summary>
    public string Reason { get; set; } = "";
    public double Seconds { get; set; }
}

/// <summary>A whole lab run, as --json writes it.</summary>
internal sealed class LabRun
{
    public required string Machine { get; init; }
    public required string Runtime { get; init; }
    public required bool Quick { get; init; }
    public required DateTime StartedUtc { get; init; }
    public List<ExperimentResult> Experiments { get; } = [];
}
