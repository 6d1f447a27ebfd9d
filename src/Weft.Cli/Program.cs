// The `weft` command. Exit codes, as the rest of Weft's programs use them: 0 done, 1 the run failed (an experiment
// threw, a crawl missed pages), 2 a usage error (an unknown command or flag, a bad value), printed on stderr with the
// command's usage; --help prints help and runs nothing.
using Spectre.Console;
using Spectre.Console.Cli;
using Weft.Cli;
using Weft.Cli.Commands;

if (args.Length > 0 && args[0] == SelfProcess.ChildVerb) return ChildEntry.Run(args[1..]);
// A workload of `weft bench` starts this program again as an IPC row's peer or for a measurement in a fresh process.
if (Weft.Bench.PeerRoles.TryRun(args, out int roleExit)) return roleExit;

if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 180; // tables stay readable in a log or a pipe

var app = new CommandApp();
app.Configure(c =>
{
    c.SetApplicationName("weft");
    c.PropagateExceptions();
    c.UseStrictParsing();
    c.AddCommand<LabCommand>("lab")
        .WithDescription("Runs the study note's claims as experiments on this machine: each prints the claim, the figures and a verdict.")
        .WithExample("lab")
        .WithExample("lab", "--quick", "--json", "lab.json", "--report", "lab.html");
    c.AddCommand<BenchCommand>("bench")
        .WithDescription("Runs Weft's benchmark suite (bench/Weft.Bench workloads) against .NET's own primitives, and Go when it is installed, as one table.")
        .WithExample("bench")
        .WithExample("bench", "--quick", "--filter", "pingpong,spawn")
        .WithExample("bench", "--filter", "ipc-*");
    c.AddCommand<CrawlCommand>("crawl")
        .WithDescription("Crawls a site with goroutines (the embedded demo site on loopback by default), with a live view and a summary.")
        .WithExample("crawl")
        .WithExample("crawl", "--compare")
        .WithExample("crawl", "http://127.0.0.1:8080/", "--max-pages", "200");
});

try
{
    return app.Run(args);
}
catch (Exception e) when (e is CommandParseException or CommandRuntimeException or CommandConfigurationException)
{
    Console.Error.WriteLine($"weft: {e.Message}");
    Console.Error.WriteLine("Run 'weft --help' or 'weft COMMAND --help' for usage.");
    return ExitCodes.Usage;
}
