using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;
using Weft.Cli.Crawl;
using Weft.Cli.Lab;

namespace Weft.Cli.Commands;

internal sealed class CrawlCommand : AsyncCommand<CrawlCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[URL]")]
        [Description("Where to start. Default: the embedded demo site, served by weft on 127.0.0.1.")]
        public string? Url { get; init; }

        [CommandOption("-q|--quick")]
        [Description("A small demo site (300 pages, 5 ms each): a few seconds.")]
        public bool Quick { get; init; }

        [CommandOption("--compare")]
        [Description("Then crawl the same site sequentially and with a thread per request, and show the three side by side.")]
        public bool Compare { get; init; }

        [CommandOption("--max-pages <N>")]
        [Description("Stop claiming new pages after N. Default: twice the demo site's size (all of it), or 500 for a URL.")]
        public int? MaxPages { get; init; }

        [CommandOption("--concurrency <N>")]
        [Description("Requests in flight at most (ErrGroup.SetLimit). Default: 64.")]
        public int Concurrency { get; init; } = 64;

        [CommandOption("--per-host <N>")]
        [Description("Requests in flight per host at most. Default: 32 on the demo site, 4 for a URL.")]
        public int? PerHost { get; init; }

        [CommandOption("--delay-ms <MS>")]
        [Description("Politeness: at least this long between two request starts on one host. Default: 0 on the demo site, 100 for a URL.")]
        public int? DelayMs { get; init; }

        [CommandOption("--timeout-ms <MS>")]
        [Description("Per-request timeout (a select against a timer). Default: 2000.")]
        public int TimeoutMs { get; init; } = 2_000;

        [CommandOption("--pages <N>")]
        [Description("Demo site: number of pages. Default: 2000.")]
        public int? Pages { get; init; }

        [CommandOption("--latency-ms <MS>")]
        [Description("Demo site: time each page takes to answer (every 61st takes ten times longer). Default: 20.")]
        public int? LatencyMs { get; init; }

        public override ValidationResult Validate()
        {
            if (Url is not null && (!Uri.TryCreate(Url, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https")))
                return ValidationResult.Error($"URL '{Url}' is not an absolute http or https address");
            if (Compare && Url is not null) return ValidationResult.Error("--compare crawls the embedded demo site only (it crawls three times, and the thread strategies ignore politeness): leave out the URL");
            if (Concurrency < 1) return ValidationResult.Error($"--concurrency {Concurrency}: must be at least 1");
            if (MaxPages is < 1) return ValidationResult.Error($"--max-pages {MaxPages}: must be at least 1");
            if (PerHost is < 1) return ValidationResult.Error($"--per-host {PerHost}: must be at least 1");
            if (DelayMs is < 0) return ValidationResult.Error($"--delay-ms {DelayMs}: must be 0 or more");
            if (TimeoutMs < 1) return ValidationResult.Error($"--timeout-ms {TimeoutMs}: must be at least 1");
            if (Pages is < 1 or > 1_000_000) return ValidationResult.Error($"--pages {Pages}: must be 1 to 1,000,000");
            if (LatencyMs is < 0 or > 60_000) return ValidationResult.Error($"--latency-ms {LatencyMs}: must be 0 to 60000");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        bool demo = s.Url is null;
        var siteOptions = new DemoSiteOptions(Pages: s.Pages ?? (s.Quick ? 300 : 2_000), LatencyMs: s.LatencyMs ?? (s.Quick ? 5 : 20));
        DemoSite? site = demo ? await DemoSite.StartAsync(siteOptions) : null;
        Uri root = site?.Root ?? new Uri(s.Url!);
        var options = new CrawlOptions(root, s.MaxPages ?? (demo ? 2 * siteOptions.Pages : 500), s.Concurrency, s.PerHost ?? (demo ? 32 : 4),
            TimeSpan.FromMilliseconds(s.DelayMs ?? (demo ? 0 : 100)), TimeSpan.FromMilliseconds(s.TimeoutMs));
        AnsiConsole.MarkupLine($"[bold]weft crawl[/] {Markup.Escape(root.ToString())}{(demo ? $" (demo site: {siteOptions.Pages:#,0} pages, {siteOptions.LatencyMs} ms each, every {siteOptions.FailEvery}th fails, every {siteOptions.SlowEvery}st is 10× slower)" : "")}");
        AnsiConsole.MarkupLine($"goroutines: ErrGroup limit {options.Concurrency}, per host {options.PerHostLimit} in flight and {options.PerHostDelay.TotalMilliseconds:0} ms apart, timeout {options.RequestTimeout.TotalMilliseconds:0} ms per request");
        int exit = ExitCodes.Ok;
        try
        {
            var stats = new CrawlStats();
            var crawler = new GoCrawler(options, stats);
            var crawl = Task.Run(() => crawler.RunAsync(cancellationToken), cancellationToken);
            if (Console.IsOutputRedirected) await crawl; // a log gets the final view only, not one table per refresh
            else await AnsiConsole.Live(View(stats)).StartAsync(async live =>
            {
                while (!crawl.IsCompleted)
                {
                    await Task.WhenAny(crawl, Task.Delay(250, cancellationToken));
                    stats.SampleThreads();
                    live.UpdateTarget(View(stats));
                }
                live.UpdateTarget(View(stats));
            });
            var result = await crawl;
            if (Console.IsOutputRedirected) AnsiConsole.Write(View(stats));
            var summary = new Table { Border = TableBorder.Rounded, Title = new TableTitle("Summary") }.AddColumn("").AddColumn(new TableColumn("").RightAligned()).HideHeaders();
            summary.AddRow("pages fetched", Measure.N(result.Pages));
            summary.AddRow("errors (failed, missing or timed out)", Measure.N(result.Errors));
            summary.AddRow("links skipped by robots.txt", Measure.N(result.SkippedByRobots));
            summary.AddRow("robots.txt fetches (SingleFlight per host)", Measure.N(crawler.RobotsFetches));
            summary.AddRow("wall time", Measure.Ns(result.Seconds * 1e9));
            summary.AddRow("pages per second", Measure.N(result.PagesPerSecond, "#,0.0"));
            summary.AddRow("latency p50 / p99", $"{Measure.Ns(result.P50Ms * 1e6)} / {Measure.Ns(result.P99Ms * 1e6)}");
            summary.AddRow("peak threads", Measure.N(result.PeakThreads));
            AnsiConsole.Write(summary);
            if (site is not null)
            {
                var pages = site.Served.Where(kv => kv.Key.StartsWith("/page/", StringComparison.Ordinal)).ToList();
                int twice = pages.Count(kv => kv.Value > 1);
                var reachable = DemoSite.Reachable(siteOptions);
                int missing = reachable.Count(n => !site.Served.ContainsKey($"/page/{n}"));
                int privateHits = site.Served.Where(kv => kv.Key.StartsWith("/private/", StringComparison.Ordinal)).Sum(kv => kv.Value);
                bool limited = options.MaxPages < siteOptions.Pages;
                bool ok = twice == 0 && privateHits == 0 && (limited || missing == 0);
                AnsiConsole.MarkupLine($"fetched each page exactly once: [{(ok ? "green" : "red")}]{(ok ? "yes" : "no")}[/] ({pages.Count:#,0} distinct pages requested, {twice} more than once, {missing} of the {reachable.Count:#,0} reachable never{(limited ? " (--max-pages)" : "")}; {privateHits} requests to robots-disallowed pages; robots.txt requested {site.Served.GetValueOrDefault("/robots.txt")} time(s))");
                if (!ok) exit = ExitCodes.Failed;
            }
            if (s.Compare) await CompareAsync(options, siteOptions, demo, cancellationToken);
        }
        finally
        {
            if (site is not null) await site.DisposeAsync();
        }
        return exit;
    }

    private static IRenderable View(CrawlStats stats)
    {
        var (p50, p99) = stats.Latency();
        return new Table { Border = TableBorder.Rounded, Title = new TableTitle("crawling") }
            .AddColumns("pages done", "in flight", "goroutines", "threads", "errors", "p50", "p99", "elapsed")
            .AddRow(Measure.N(stats.Done), Measure.N(stats.InFlight), Measure.N(Go.NumGoroutine), Measure.N(stats.PeakThreads), Measure.N(stats.Errors),
                Measure.Ns(p50 * 1e6), Measure.Ns(p99 * 1e6), $"{stats.Elapsed.TotalSeconds:0.0} s");
    }

    private static async Task CompareAsync(CrawlOptions options, DemoSiteOptions siteOptions, bool demo, CancellationToken ct)
    {
        // The goroutine crawl runs again here, after the others: the first crawl of the process also paid for the JIT
        // and the first connections, so its figures are not comparable.
        var results = new List<CrawlResult>();
        foreach (var (name, crawl) in new (string, Func<CrawlOptions, CrawlStats, CrawlResult>)[]
        {
            ("sequential", ThreadCrawlers.Sequential),
            ("thread per request", ThreadCrawlers.ThreadPerRequest),
            ("goroutines", (o, st) => new GoCrawler(o, st).RunAsync(ct).GetAwaiter().GetResult()),
        })
        {
            DemoSite? site = demo ? await DemoSite.StartAsync(siteOptions) : null;
            try
            {
                var o = site is null ? options : options with { Root = site.Root };
                CrawlResult? r = null;
                await AnsiConsole.Status().StartAsync($"crawling again: {name}", async _ => r = await Task.Run(() => crawl(o, new CrawlStats()), ct));
                results.Add(r!);
            }
            finally
            {
                if (site is not null) await site.DisposeAsync();
            }
        }
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle("The same crawl three ways") }
            .AddColumns("strategy", "pages", "errors", "wall time", "pages/s", "speed-up", "peak threads", "p50", "p99");
        foreach (var c in table.Columns.Skip(1)) c.RightAligned();
        foreach (var r in results)
            table.AddRow(r.Strategy, Measure.N(r.Pages), Measure.N(r.Errors), Measure.Ns(r.Seconds * 1e9), Measure.N(r.PagesPerSecond, "#,0.0"), Measure.Ratio(results[0].Seconds / r.Seconds), Measure.N(r.PeakThreads), Measure.Ns(r.P50Ms * 1e6), Measure.Ns(r.P99Ms * 1e6));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Each crawl on a fresh copy of the demo site. The thread strategies read robots.txt once up front and ignore the politeness delay; the goroutine crawl obeys both.[/]");
    }
}
