using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Spectre.Console;
using Spectre.Console.Cli;
using Weft.Cli.Lab;

namespace Weft.Cli.Commands;

internal sealed class LabCommand : Command<LabCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-q|--quick")]
        [Description("Every experiment at small sizes (under a minute in all). The verdicts are still computed from what was measured.")]
        public bool Quick { get; init; }

        [CommandOption("--json <FILE>")]
        [Description("Also write the results as JSON to FILE; --json=- writes it to standard output, which then carries only the JSON (the view goes to standard error).")]
        public string? Json { get; init; }

        [CommandOption("--report <FILE>")]
        [Description("Also write a self-contained HTML page with a chart per experiment to FILE.")]
        public string? Report { get; init; }

        [CommandOption("--only <IDS>")]
        [Description("Run only these experiments, comma-separated: create-switch, memory, ipc, io-bound, thread-pool, parallelism, locks.")]
        public string? Only { get; init; }

        public override ValidationResult Validate()
        {
            if (Only is null) return ValidationResult.Success();
            var known = ExperimentList.All().Select(e => e.Id).ToHashSet();
            var bad = Only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(id => !known.Contains(id)).ToList();
            return bad.Count == 0 ? ValidationResult.Success() : ValidationResult.Error($"--only: unknown experiment '{string.Join("', '", bad)}'; known: {string.Join(", ", known)}");
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // With --json -, standard output carries the JSON alone: the human view goes to standard error.
        var console = settings.Json == "-" ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
        var wanted = settings.Only?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var experiments = ExperimentList.All().Where(e => wanted is null || wanted.Contains(e.Id)).ToList();
        var run = new LabRun
        {
            Machine = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()} {RuntimeInformation.OSArchitecture}",
            Runtime = $".NET {Environment.Version}, Weft {WeftVersion()}",
            Quick = settings.Quick,
            StartedUtc = DateTime.UtcNow,
        };
        console.MarkupLine($"[bold]weft lab[/]{(settings.Quick ? " --quick" : "")}: {experiments.Count} experiments on {Markup.Escape(run.Machine)}, {Markup.Escape(run.Runtime)}");
        console.WriteLine();
        int failed = 0;
        console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(progress =>
            {
                var tasks = experiments.Select(e => progress.AddTask(Markup.Escape(e.Title), autoStart: false)).ToList();
                for (int i = 0; i < experiments.Count; i++)
                {
                    var task = tasks[i];
                    task.StartTask();
                    var e = experiments[i];
                    var lab = new LabContext(settings.Quick, (what, f) => { task.Description = Markup.Escape($"{e.Title}: {what}"); task.Value = f * 100; }, cancellationToken);
                    var clock = Stopwatch.StartNew();
                    ExperimentResult result;
                    try
                    {
                        result = e.Run(lab);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        failed++;
                        result = new ExperimentResult { Id = e.Id, Title = e.Title, Claim = "", Measured = "", Verdict = Verdict.NotChecked, Reason = $"the experiment failed: {ex.GetType().Name}: {ex.Message}" };
                    }
                    result.Seconds = clock.Elapsed.TotalSeconds;
                    run.Experiments.Add(result);
                    task.Value = 100;
                    task.StopTask();
                    progress.Refresh();
                    console.WriteLine(); // keep finished experiments above the live bars
                    ConsoleView.Render(console, result);
                }
            });
        ConsoleView.Summary(console, run);
        if (settings.Json is not null)
        {
            string json = JsonReport.Write(run);
            if (settings.Json == "-") Console.Out.WriteLine(json);
            else { File.WriteAllText(settings.Json, json); console.MarkupLine($"JSON: [link]{Markup.Escape(Path.GetFullPath(settings.Json))}[/]"); }
        }
        if (settings.Report is not null)
        {
            File.WriteAllText(settings.Report, HtmlReport.Write(run));
            console.MarkupLine($"Report: [link]{Markup.Escape(Path.GetFullPath(settings.Report))}[/]");
        }
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>Weft's package version (MinVer's, from the git tag), without the commit hash.</summary>
    internal static string WeftVersion()
    {
        string? v = typeof(Go).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
        return v is null ? typeof(Go).Assembly.GetName().Version?.ToString() ?? "?" : v.Split('+')[0];
    }
}
