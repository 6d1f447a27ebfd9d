using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text.Json;
using BenchmarkDotNet.Running;
using Spectre.Console;
using Spectre.Console.Cli;
using Weft.Bench;
using Weft.Cli.Bench;
using Weft.Cli.Lab;

namespace Weft.Cli.Commands;

internal sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-q|--quick")]
        [Description("One round, one repetition per figure, no warm-up: a smoke run, not figures to quote.")]
        public bool Quick { get; init; }

        [CommandOption("--filter <NAMES>")]
        [Description("Only these workloads: names or globs, comma-separated (e.g. pingpong,spawn or ipc-*). Without it, every workload except the IPC rows, which start other processes and run only when selected.")]
        public string? Filter { get; init; }

        [CommandOption("--rounds <N>")]
        [Description("Rounds that alternate Weft, .NET and Go (default 3; 1 with --quick). Each round measures every figure in a fresh process.")]
        public int? Rounds { get; init; }

        [CommandOption("--json <FILE>")]
        [Description("Also write every sample as JSON to FILE.")]
        public string? Json { get; init; }

        [CommandOption("--markdown <FILE>")]
        [Description("Also write the table as Markdown to FILE (the README's benchmark tables are made this way).")]
        public string? Markdown { get; init; }

        [CommandOption("--micro")]
        [Description("Run BenchmarkDotNet's micro-benchmarks instead; arguments after -- go to BenchmarkDotNet (e.g. -- --filter '*Chan*').")]
        public bool Micro { get; init; }

        public override ValidationResult Validate()
        {
            if (Rounds is < 1 or > 100) return ValidationResult.Error($"--rounds {Rounds}: must be 1 to 100");
            try
            {
                _ = BenchRunner.Select(Workloads.All(), Filter);
            }
            catch (ArgumentException e)
            {
                return ValidationResult.Error(e.Message);
            }
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.Micro)
        {
            BenchmarkSwitcher.FromAssembly(typeof(Workload).Assembly).Run([.. context.Remaining.Raw]);
            return ExitCodes.Ok;
        }
        var workloads = BenchRunner.Select(Workloads.All(), s.Filter);
        int rounds = s.Rounds ?? (s.Quick ? 1 : 3);
        string? go = Weft.Cli.Lab.Experiments.GoTwin.GoPath();
        string? goDir = go is null ? null : BenchRunner.ScriptDir("go");
        var cRows = workloads.Where(w => BenchRunner.CRows.Contains(w.Name)).Select(w => w.Name).ToList();
        string? gcc = cRows.Count == 0 ? null : Executables.OnPath("gcc");
        string? cDir = gcc is null ? null : BenchRunner.ScriptDir("ipc-c");
        string machine = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()} {RuntimeInformation.OSArchitecture}";
        string runtime = $".NET {Environment.Version}"
            + (goDir is not null ? $", {BenchRunner.ToolVersion(go!, "version")}" : go is null ? ", Go: not installed" : ", Go: bench/go not found")
            + (cRows.Count == 0 ? "" : cDir is not null ? $", C: {BenchRunner.ToolVersion(gcc!, "--version")}" : gcc is null ? ", C floor: no gcc on PATH" : ", C floor: bench/ipc-c not found");
        AnsiConsole.MarkupLine($"[bold]weft bench[/]{(s.Quick ? " --quick" : "")}: {workloads.Count} workloads, {rounds} round(s), {(s.Quick ? "one repetition, no warm-up" : "2 s warm-up, then each workload's repetitions")}, each figure in a fresh process");
        AnsiConsole.MarkupLine($"machine: {Markup.Escape(machine)}; runtimes: {Markup.Escape(runtime)}");

        var rows = workloads.Select(w => new BenchRow(w.Name, w.Unit, [], [], [], [])).ToList();
        int failed = 0;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(progress =>
            {
                int steps = rounds * (workloads.Count * 2 + (goDir is not null ? 1 : 0) + (cDir is not null ? 1 : 0));
                var task = progress.AddTask("starting", maxValue: steps);
                for (int round = 1; round <= rounds; round++)
                {
                    for (int i = 0; i < workloads.Count; i++)
                    {
                        foreach (string which in new[] { "weft", "tpl" })
                        {
                            task.Description = Markup.Escape($"round {round}/{rounds}: {workloads[i].Name} ({(which == "weft" ? "Weft" : ".NET")})");
                            try
                            {
                                var values = BenchRunner.Parse(SelfProcess.RunChild(["bench", workloads[i].Name, which, s.Quick ? "quick" : "full"], null, TimeSpan.FromMinutes(5)));
                                (which == "weft" ? rows[i].Weft : rows[i].Baseline).AddRange(values);
                            }
                            catch (InvalidOperationException e)
                            {
                                failed++;
                                AnsiConsole.MarkupLine($"[red]{Markup.Escape(workloads[i].Name)} ({which}) failed:[/] {Markup.Escape(e.Message.Split('\n')[0])}");
                            }
                            task.Increment(1);
                        }
                    }
                    if (goDir is not null)
                    {
                        task.Description = $"round {round}/{rounds}: Go";
                        failed += Collect("Go", () => BenchRunner.RunGo(goDir, go!, workloads.Select(w => w.Name)), rows, r => r.Go);
                        task.Increment(1);
                    }
                    if (cDir is not null)
                    {
                        task.Description = $"round {round}/{rounds}: the C floor";
                        failed += Collect("the C floor", () => BenchRunner.RunC(cDir, s.Quick ? 2_000 : 20_000, cRows), rows, r => r.C);
                        task.Increment(1);
                    }
                }
                task.Description = "done";
            });

        bool cColumn = cDir is not null;
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle($"Weft against .NET{(goDir is not null ? ", Go" : "")}{(cColumn ? ", the C floor" : "")}: medians, spread min–max") };
        table.AddColumn("workload").AddColumn("unit").AddColumn(new TableColumn("Weft").RightAligned()).AddColumn(new TableColumn("Weft min–max").RightAligned())
             .AddColumn(new TableColumn(".NET baseline").RightAligned()).AddColumn(new TableColumn(".NET min–max").RightAligned());
        if (goDir is not null) table.AddColumn(new TableColumn("Go").RightAligned()).AddColumn(new TableColumn("Weft ÷ Go").RightAligned());
        if (cColumn) table.AddColumn(new TableColumn("C").RightAligned()).AddColumn(new TableColumn("Weft ÷ C").RightAligned());
        table.AddColumn(new TableColumn("Weft ÷ .NET").RightAligned());
        foreach (var r in rows)
        {
            var cells = new List<string> { r.Name, r.Unit, BenchRunner.Cell(r.Weft), BenchRunner.Spread(r.Weft), BenchRunner.Cell(r.Baseline), BenchRunner.Spread(r.Baseline) };
            if (goDir is not null) cells.AddRange([BenchRunner.Cell(r.Go), BenchRunner.Ratio(r.Weft, r.Go)]);
            if (cColumn) cells.AddRange([BenchRunner.Cell(r.C), BenchRunner.Ratio(r.Weft, r.C)]);
            cells.Add(BenchRunner.Ratio(r.Weft, r.Baseline));
            table.AddRow(cells.Select(c => Markup.Escape(c)).ToArray());
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Lower is better for every unit except msgs/s. A ratio below 1× means Weft's figure is the smaller. Only ratios from one run compare.[/]");
        if (s.Markdown is not null)
        {
            File.WriteAllText(s.Markdown, BenchRunner.Markdown(rows, goDir is not null, cColumn));
            AnsiConsole.MarkupLine($"Markdown: {Markup.Escape(Path.GetFullPath(s.Markdown))}");
        }
        if (s.Json is not null)
        {
            File.WriteAllText(s.Json, BenchRunner.Json(rows, machine, runtime, rounds, s.Quick).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.MarkupLine($"JSON: {Markup.Escape(Path.GetFullPath(s.Json))}");
        }
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>Runs one comparison program for the round and files its figures under each row; 1 if it failed (said on the console), else 0.</summary>
    private static int Collect(string what, Func<Dictionary<string, double>> run, List<BenchRow> rows, Func<BenchRow, List<double>> column)
    {
        try
        {
            var figures = run();
            foreach (var row in rows)
            {
                if (figures.TryGetValue(row.Name, out double v)) column(row).Add(v);
            }
            return 0;
        }
        catch (InvalidOperationException e)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(what)} failed:[/] {Markup.Escape(e.Message.Split('\n')[0])}");
            return 1;
        }
    }
}
