// The crawl done the thread way, for comparison with the goroutine crawler: sequentially, with a new thread per
// request, on .NET's shared pool, and on a ThreadPoolExecutor. Each fetch is a blocking HttpClient.Send, as the
// note's threads would do it: the thread waits while the page loads. robots.txt is read once up front; there is no
// politeness delay, so the comparison is about how waiting threads are used.
using Weft.Threading;

namespace Weft.Cli.Crawl;

internal static class ThreadCrawlers
{
    public static CrawlResult Sequential(CrawlOptions o, CrawlStats stats)
    {
        using var http = CrawlCore.NewClient(o.RequestTimeout);
        var robots = CrawlCore.RobotsBlocking(http, o.Root);
        var visited = new CrawlCore.Visited(o.MaxPages);
        var queue = new Queue<Uri>();
        visited.Claim(o.Root);
        queue.Enqueue(o.Root);
        while (queue.TryDequeue(out var u))
        {
            string? body = CrawlCore.FetchBlocking(http, u, stats);
            if (body is null) continue;
            foreach (var link in CrawlCore.Links(body, u))
            {
                if (!robots.Allows(link.AbsolutePath)) { stats.SkippedByRobots(); continue; }
                if (visited.Claim(link)) queue.Enqueue(link);
            }
        }
        return stats.Result("sequential");
    }

    public static CrawlResult ThreadPerRequest(CrawlOptions o, CrawlStats stats) =>
        Concurrent(o, stats, "thread per request", (work, _) => new Thread(() => work()) { IsBackground = true }.Start());

    public static CrawlResult SharedPool(CrawlOptions o, CrawlStats stats) =>
        Concurrent(o, stats, ".NET shared pool", (work, _) => ThreadPool.UnsafeQueueUserWorkItem(static w => w(), work, preferLocal: false));

    public static CrawlResult Executor(CrawlOptions o, CrawlStats stats)
    {
        using var pool = new ThreadPoolExecutor(o.Concurrency, o.Concurrency, TimeSpan.FromSeconds(10), queueCapacity: 1_000_000);
        var r = Concurrent(o, stats, $"ThreadPoolExecutor ({o.Concurrency})", (work, _) => pool.Execute(work));
        pool.Shutdown();
        return r;
    }

    /// <summary>
    /// A crawl where <paramref name="start"/> runs each page's work somewhere: the page is fetched, its new links are
    /// claimed and started, and a pending count (claimed but not finished) tells when the crawl is over.
    /// </summary>
    private static CrawlResult Concurrent(CrawlOptions o, CrawlStats stats, string name, Action<Action, int> start)
    {
        using var http = CrawlCore.NewClient(o.RequestTimeout);
        var robots = CrawlCore.RobotsBlocking(http, o.Root);
        var visited = new CrawlCore.Visited(o.MaxPages);
        int pending = 1;
        using var done = new ManualResetEventSlim();
        void Page(Uri u)
        {
            try
            {
                string? body = CrawlCore.FetchBlocking(http, u, stats);
                if (body is null) return;
                foreach (var link in CrawlCore.Links(body, u))
                {
                    if (!robots.Allows(link.AbsolutePath)) { stats.SkippedByRobots(); continue; }
                    if (!visited.Claim(link)) continue;
                    Interlocked.Increment(ref pending);
                    start(() => Page(link), 0);
                }
                if ((stats.Done & 15) == 0) stats.SampleThreads();
            }
            finally
            {
                if (Interlocked.Decrement(ref pending) == 0) done.Set();
            }
        }
        visited.Claim(o.Root);
        start(() => Page(o.Root), 0);
        if (!done.Wait(TimeSpan.FromMinutes(10))) throw new TimeoutException($"{name} crawl did not finish in 10 minutes");
        return stats.Result(name);
    }
}
