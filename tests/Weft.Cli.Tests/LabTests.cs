using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Weft.Cli.Tests;

/// <summary>
/// One `weft lab --quick --json --report` run (class fixture): every experiment prints a claim, a table and a verdict
/// whose reason quotes figures; the JSON has every experiment with its figures; the HTML page loads in headless
/// Chromium, its script runs, and it shows a chart per experiment.
/// </summary>
[Collection("weft")]
public class LabTests(LabTests.QuickRun run, ITestOutputHelper output) : IClassFixture<LabTests.QuickRun>
{
    internal static readonly string[] ExperimentIds = ["create-switch", "memory", "ipc", "io-bound", "thread-pool", "parallelism", "locks"];
    private static readonly string[] s_verdicts = ["holds", "does not hold", "holds with a caveat", "not checked"];

    public sealed class QuickRun : IAsyncLifetime
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory("weft-lab-test-").FullName;
        public string Json => Path.Combine(Folder, "lab.json");
        public string Report => Path.Combine(Folder, "lab.html");
        public Weft.Result Result { get; private set; } = null!;
        public TimeSpan Took { get; private set; }

        public async Task InitializeAsync()
        {
            var clock = Stopwatch.StartNew();
            Result = await Weft.Run(TimeSpan.FromMinutes(4), "lab", "--quick", "--json", Json, "--report", Report);
            Took = clock.Elapsed;
        }

        public Task DisposeAsync()
        {
            Directory.Delete(Folder, recursive: true);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public void Every_experiment_prints_its_claim_and_a_verdict_backed_by_figures()
    {
        output.WriteLine($"weft lab --quick took {run.Took.TotalSeconds:0.0} s");
        var r = run.Result;
        Assert.True(r.ExitCode == 0, r.ToString());
        var verdicts = Regex.Matches(r.Stdout, @"^Verdict:\s+(holds with a caveat|does not hold|holds|not checked): (.+)$", RegexOptions.Multiline);
        Assert.True(verdicts.Count == ExperimentIds.Length, r.ToString());
        foreach (Match v in verdicts)
        {
            Assert.Matches(@"\d", v.Groups[2].Value); // the reason quotes what was measured
            Assert.DoesNotContain("the experiment failed", v.Groups[2].Value, StringComparison.Ordinal);
        }
        Assert.Equal(ExperimentIds.Length, Regex.Matches(r.Stdout, "^Claim: ", RegexOptions.Multiline).Count);
        Assert.Contains("The note's claims on this machine", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void The_json_has_every_experiment_with_figures_and_a_verdict()
    {
        Assert.True(run.Result.ExitCode == 0, run.Result.ToString());
        using var doc = JsonDocument.Parse(File.ReadAllText(run.Json));
        Assert.True(doc.RootElement.GetProperty("quick").GetBoolean());
        var experiments = doc.RootElement.GetProperty("experiments").EnumerateArray().ToList();
        Assert.Equal(ExperimentIds, experiments.Select(e => e.GetProperty("id").GetString()));
        foreach (var e in experiments)
        {
            string id = e.GetProperty("id").GetString()!;
            Assert.Contains(e.GetProperty("verdictText").GetString(), s_verdicts);
            Assert.NotEmpty(e.GetProperty("figures").EnumerateObject());
            Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("claim").GetString()), id);
            Assert.True(e.GetProperty("tables").GetArrayLength() > 0, id);
        }
        // Figures that pin invariants, not timings.
        var byId = experiments.ToDictionary(e => e.GetProperty("id").GetString()!, e => e.GetProperty("figures"));
        Assert.Equal(0, byId["locks"].GetProperty("mutex.lost").GetDouble());
        Assert.Equal(0, byId["locks"].GetProperty("interlocked.lost").GetDouble());
        foreach (string s in new[] { "sequential", "thread_per_request", "net_shared_pool", "threadpoolexecutor", "goroutines" })
            Assert.Equal(0, byId["io-bound"].GetProperty($"{s}.fetched_twice").GetDouble());
        foreach (string s in new[] { "sequential", "goroutines" })
            Assert.Equal(0, byId["io-bound"].GetProperty($"{s}.never_fetched").GetDouble());
    }

    [Fact]
    public async Task The_report_loads_in_headless_chromium_with_a_chart_per_experiment_and_no_errors()
    {
        Assert.True(run.Result.ExitCode == 0, run.Result.ToString());
        string html = File.ReadAllText(run.Report);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal); // nothing fetched at view time
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        foreach (string id in ExperimentIds) Assert.Contains($"<svg class=\"chart\" data-experiment=\"{id}\"", html, StringComparison.Ordinal);

        string? chromium = new[] { "chromium", "chromium-browser", "google-chrome" }
            .SelectMany(n => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, n))).FirstOrDefault(File.Exists);
        if (chromium is null)
        {
            // .ci/run installs Debian's chromium under CI; a developer machine without it checks the file only.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "chromium is not installed, and CI must check the report in it (.ci/run installs it)");
            output.WriteLine("chromium not found: checked the HTML file only");
            return;
        }
        string profile = Path.Combine(run.Folder, "chromium-profile");
        var r = await Weft.Run(chromium,
            ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", $"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=5000", "--dump-dom", new Uri(run.Report).AbsoluteUri],
            run.Folder, TimeSpan.FromSeconds(90));
        Assert.True(r.ExitCode == 0, r.ToString());
        string dom = r.Stdout;
        // The inline script ran (no script error before it) and counted one chart per experiment.
        Assert.Contains($"charts: {ExperimentIds.Length} of {ExperimentIds.Length} experiments", dom, StringComparison.Ordinal);
        foreach (string id in ExperimentIds)
        {
            var section = Regex.Match(dom, $"<section id=\"{id}\"[^>]*>(.*?)</section>", RegexOptions.Singleline);
            Assert.True(section.Success, $"no section {id} in the DOM");
            Assert.Matches("<svg class=\"chart\"[^>]*>.*<(rect|polyline)", section.Groups[1].Value);
        }
        Assert.DoesNotMatch("(?i)Uncaught|CONSOLE\\(|ERROR:.*(render|script|page)", r.Stderr);
    }
}
