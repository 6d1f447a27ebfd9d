using Spectre.Console;

namespace Weft.Cli.Lab;

/// <summary>Renders lab results on the console: per experiment the claim, what was measured, tables, notes and verdict.</summary>
internal static class ConsoleView
{
    public static void Render(IAnsiConsole console, ExperimentResult r)
    {
        console.Write(new Rule($"[bold]{Markup.Escape(r.Title)}[/]") { Justification = Justify.Left });
        console.MarkupLine($"[grey]Claim:[/]    {Markup.Escape(r.Claim)}");
        console.MarkupLine($"[grey]Measured:[/] {Markup.Escape(r.Measured)}");
        foreach (var t in r.Tables)
        {
            var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle(Markup.Escape(t.Title)) };
            for (int i = 0; i < t.Columns.Count; i++)
            {
                var col = new TableColumn(Markup.Escape(t.Columns[i]));
                if (i > 0) col.RightAligned();
                table.AddColumn(col);
            }
            foreach (var row in t.Rows) table.AddRow(row.Select(c => new Markup(Markup.Escape(c))).ToArray());
            console.Write(table);
        }
        foreach (string n in r.Notes) console.MarkupLine($"[grey]Note:[/]     {Markup.Escape(n)}");
        console.MarkupLine($"[bold]Verdict:[/]  [{Color(r.Verdict)}]{r.Verdict.Words()}[/]: {Markup.Escape(r.Reason)}");
        console.WriteLine();
    }

    public static void Summary(IAnsiConsole console, LabRun run)
    {
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle("The note's claims on this machine") };
        table.AddColumn("experiment");
        table.AddColumn("verdict");
        table.AddColumn("time");
        foreach (var r in run.Experiments)
            table.AddRow(new Markup(Markup.Escape(r.Title)), new Markup($"[{Color(r.Verdict)}]{r.Verdict.Words()}[/]"), new Markup($"{r.Seconds:0.0} s"));
        console.Write(table);
    }

    private static string Color(Verdict v) => v switch
    {
        Verdict.Holds => "green",
        Verdict.DoesNotHold => "red",
        Verdict.HoldsWithCaveat => "yellow",
        _ => "grey",
    };
}
