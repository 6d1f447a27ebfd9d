// Experiment 4, I/O-bound work: the note's example, a crawler, where threads pay off because a thread waiting for a
// page leaves the processor to another. The demo site (Crawl/DemoSite.cs) is crawled five ways; every way must fetch
// every reachable page exactly once, which the site's own request counts check.
//
// Goroutines get a goroutine per request, as the thread-per-request crawler gets a thread per request: with the
// executor's bound of 32 in flight they would measure the bound, not the goroutines. The shared pool runs last: it
// grows the .NET ThreadPool, and the threads it leaves would count as the next strategy's peak.
using Weft.Cli.Crawl;

namespace Weft.Cli.Lab.Experiments;

internal sealed class IoBound : IExperiment
{
    public string Id => "io-bound";
    public string Title => "4. I/O-bound work: the crawler";

    public ExperimentResult Run(LabContext ctx)
    {
        var site = new DemoSiteOptions(Pages: ctx.Size(40, 600), LatencyMs: ctx.Size(10, 20), SizeBytes: 2_048, FailEvery: 0, SlowEvery: 0, BrokenLink: false);
        int concurrency = 32;
        int unbounded = 2 * site.Pages; // more than there are pages: a goroutine per request
        var r = new ExperimentResult
        {
            Id = Id,
            Title = Title,
            Claim = "Threads pay off for I/O-bound work such as a web crawler: while one waits for a page, another runs.",
            Measured = $"Crawling the embedded demo site ({site.Pages:#,0} pages, {site.LatencyMs} ms each, on loopback): sequentially, a thread per request, a ThreadPoolExecutor of {concurrency} threads, a goroutine per request (ErrGroup), and the .NET shared pool. Wall time, pages per second, peak threads.",
        };
        var runs = new (string Name, Func<CrawlOptions, CrawlStats, CrawlResult> Crawl)[]
        {
            ("sequential", ThreadCrawlers.Sequential),
            ("thread per request", ThreadCrawlers.ThreadPerRequest),
            ("ThreadPoolExecutor", ThreadCrawlers.Executor),
            ("goroutines", (o, s) => new GoCrawler(o with { Concurrency = unbounded, PerHostLimit = unbounded }, s).RunAsync(ctx.CancellationToken).GetAwaiter().GetResult()),
            (".NET shared pool", ThreadCrawlers.SharedPool),
        };
        var results = new List<CrawlResult>();
        int twiceAll = 0;
        for (int i = 0; i < runs.Length; i++)
        {
            ctx.Step(runs[i].Name, (double)i / runs.Length);
            var demo = DemoSite.StartAsync(site).GetAwaiter().GetResult();
            try
            {
                // A generous request timeout: a starving pool's requests wait for a thread, and should still be counted.
                var o = new CrawlOptions(demo.Root, 2 * site.Pages, concurrency, concurrency, TimeSpan.Zero, TimeSpan.FromSeconds(30));
                var res = runs[i].Crawl(o, new CrawlStats());
                results.Add(res with { Strategy = runs[i].Name });
                // The invariant: no path requested twice (robots.txt included). Pages never requested are the
                // children of requests that failed, which the errors column counts.
                int twice = demo.Served.Count(kv => kv.Value > 1);
                int missing = DemoSite.Reachable(site).Count(p => !demo.Served.ContainsKey($"/page/{p}"));
                twiceAll += twice;
                string key = Key(runs[i].Name);
                r.Figures[$"{key}.seconds"] = res.Seconds;
                r.Figures[$"{key}.pages"] = res.Pages;
                r.Figures[$"{key}.errors"] = res.Errors;
                r.Figures[$"{key}.peak_threads"] = res.PeakThreads;
                r.Figures[$"{key}.fetched_twice"] = twice;
                r.Figures[$"{key}.never_fetched"] = missing;
                if (res.Errors > 0 || missing > 0)
                    r.Notes.Add($"{runs[i].Name}: {res.Errors:#,0} requests failed or timed out (30 s), and {missing:#,0} reachable pages were never seen behind them.");
            }
            finally
            {
                demo.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        double seq = results[0].Seconds;
        r.Tables.Add(new ResultTable("Crawl, five ways", ["strategy", "pages", "wall time", "pages/s", "speed-up", "peak threads", "p50 latency", "p99 latency"],
            results.Select(x => (IReadOnlyList<string>)[x.Strategy, Measure.N(x.Pages), Measure.Ns(x.Seconds * 1e9), Measure.N(x.PagesPerSecond, "#,0.0"), Measure.Ratio(seq / x.Seconds), Measure.N(x.PeakThreads), Measure.Ns(x.P50Ms * 1e6), Measure.Ns(x.P99Ms * 1e6)]).ToList()));
        r.Charts.Add(new Chart("Pages per second", "pages/s", "bar", results.Select(x => x.Strategy).ToList(), [new("pages/s", results.Select(x => (double?)x.PagesPerSecond).ToList())]));
        r.Notes.Add(twiceAll == 0 ? "No strategy requested any page twice (the site's request counts)." : $"{twiceAll} paths were requested more than once: see fetched_twice in the figures.");

        // The best thread strategy among those that fetched every page (a starving pool that timed out is not faster).
        var threads = results.Where(x => x.Strategy is "thread per request" or "ThreadPoolExecutor" or ".NET shared pool").ToList();
        var complete = threads.Where(x => x.Errors == 0).ToList();
        var threaded = (complete.Count > 0 ? complete : threads).OrderBy(x => x.Seconds).First();
        var go = results.Single(x => x.Strategy == "goroutines");
        double speedup = seq / threaded.Seconds;
        string figures = $"sequential {seq:0.00} s, best threaded ({threaded.Strategy}) {threaded.Seconds:0.00} s ({Measure.Ratio(speedup)}), goroutines {go.Seconds:0.00} s ({Measure.Ratio(seq / go.Seconds)}) with {go.PeakThreads} threads against {threaded.PeakThreads}";
        if (twiceAll > 0) { r.Verdict = Verdict.DoesNotHold; r.Reason = figures + ", but a page was fetched twice."; }
        else if (speedup >= 3 && go.Seconds <= threaded.Seconds * 1.5) { r.Verdict = Verdict.Holds; r.Reason = figures + ": waiting threads pay off, and goroutines get the same with fewer threads."; }
        else if (speedup >= 3) { r.Verdict = Verdict.HoldsWithCaveat; r.Reason = figures + ": threads pay off; goroutines were slower here."; }
        else { r.Verdict = Verdict.DoesNotHold; r.Reason = figures + ": threads did not speed the crawl up by 3× or more."; }
        return r;
    }

    private static string Key(string name) => name.Replace(' ', '_').Replace(".", "", StringComparison.Ordinal).ToLowerInvariant();
}
