// The note's crawler done with goroutines, as Go would write it.
//
// - One coordinator goroutine owns the frontier: it claims each new link in the visited set (so a page is fetched at
//   most once) and starts its fetch with ErrGroup.GoAsync, which waits for a slot once SetLimit's bound is reached.
//   Workers never start workers: a worker that waited for a slot held by its own ancestors would deadlock the group.
//   Each worker sends its page's links back on `found`, whose capacity (MaxPages + 1) means that send never waits.
// - robots.txt is fetched once per host through SingleFlight: the first pages of a host arrive together, and all but
//   one wait for the same fetch instead of each fetching it. The result is then cached.
// - Each request runs in its own goroutine and the worker selects on its result and a timer: a page slower than
//   RequestTimeout counts as an error, and its request is cancelled.
// - Politeness: per host, a Weft Semaphore bounds the requests in flight and a delay spaces their starts.
using System.Collections.Concurrent;
using System.Diagnostics;
using Weft.Sync;
using Mutex = Weft.Sync.Mutex;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Cli.Crawl;

internal sealed class GoCrawler(CrawlOptions options, CrawlStats stats)
{
    private readonly SingleFlight<string, Robots> _robotsFlight = new();
    private readonly ConcurrentDictionary<string, Robots> _robots = new();
    private readonly ConcurrentDictionary<string, Host> _hosts = new();

    /// <summary>How many robots.txt fetches actually went out (one per host when SingleFlight works).</summary>
    public int RobotsFetches => _robotsFetches;
    private int _robotsFetches;

    private sealed class Host(int limit)
    {
        public readonly Semaphore InFlight = new(limit);
        public readonly Mutex Lock = new();
        public long NextStart; // Stopwatch ticks; guarded by Lock
    }

    public async Task<CrawlResult> RunAsync(CancellationToken cancellationToken)
    {
        using var http = CrawlCore.NewClient(Timeout.InfiniteTimeSpan);
        var visited = new CrawlCore.Visited(options.MaxPages);
        var found = new Chan<Uri[]>(options.MaxPages + 1);
        var group = new ErrGroup(cancellationToken);
        group.SetLimit(options.Concurrency);
        int pending = 0;

        async Task Start(Uri u)
        {
            pending++;
            await group.GoAsync(async ct =>
            {
                Uri[] links = [];
                try { links = await PageAsync(http, u, ct); }
                finally { await found.SendAsync(links, CancellationToken.None); }
            });
        }

        visited.Claim(options.Root);
        await Start(options.Root);
        while (pending > 0)
        {
            Uri[] links = await found.ReceiveAsync(cancellationToken) ?? [];
            pending--;
            foreach (var link in links)
            {
                if (visited.Claim(link)) await Start(link);
            }
        }
        await group.WaitAsync(cancellationToken);
        return stats.Result("goroutines");
    }

    /// <summary>Fetches one page politely and returns its links that robots.txt allows.</summary>
    private async Task<Uri[]> PageAsync(HttpClient http, Uri u, CancellationToken ct)
    {
        var robots = await RobotsAsync(http, u, ct);
        var host = _hosts.GetOrAdd(u.Authority, _ => new Host(options.PerHostLimit));
        await host.InFlight.AcquireAsync(1, ct);
        try
        {
            await PoliteDelayAsync(host, ct);
            string? body = await FetchWithTimeoutAsync(http, u, ct);
            if (body is null) return [];
            var allowed = new List<Uri>();
            foreach (var link in CrawlCore.Links(body, u))
            {
                if (robots.Allows(link.AbsolutePath)) allowed.Add(link);
                else stats.SkippedByRobots();
            }
            return [.. allowed];
        }
        finally
        {
            host.InFlight.Release();
        }
    }

    private async Task PoliteDelayAsync(Host host, CancellationToken ct)
    {
        if (options.PerHostDelay <= TimeSpan.Zero) return;
        long now = Stopwatch.GetTimestamp(), start;
        await host.Lock.LockAsync(ct);
        try
        {
            start = Math.Max(now, host.NextStart);
            host.NextStart = start + (long)(options.PerHostDelay.TotalSeconds * Stopwatch.Frequency);
        }
        finally
        {
            host.Lock.Unlock();
        }
        if (start > now) await Go.Sleep(Stopwatch.GetElapsedTime(now, start), ct);
    }

    /// <summary>The request in its own goroutine, raced against a timer by a select; null on timeout or failure.</summary>
    private async Task<string?> FetchWithTimeoutAsync(HttpClient http, Uri u, CancellationToken ct)
    {
        stats.Started();
        long t0 = Stopwatch.GetTimestamp();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var result = new Chan<string?>(1); // buffered: a fetch that lost the race still completes its send and ends
        Go.Run(async () =>
        {
            string? body = null;
            try
            {
                using var response = await http.GetAsync(u, cancel.Token);
                if (response.IsSuccessStatusCode) body = await response.Content.ReadAsStringAsync(cancel.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException) { }
            result.TrySend(body);
        });
        var select = new Select();
        var got = select.Receive(result);
        var timeout = select.Timeout(options.RequestTimeout);
        int fired = await select.WaitAsync(ct);
        string? page = fired == got.Index ? got.Value : null;
        if (fired == timeout.Index) await cancel.CancelAsync();
        stats.Finished(Stopwatch.GetElapsedTime(t0).TotalMilliseconds, page is not null);
        return page;
    }

    private async Task<Robots> RobotsAsync(HttpClient http, Uri u, CancellationToken ct)
    {
        if (_robots.TryGetValue(u.Authority, out var cached)) return cached;
        var robots = await _robotsFlight.DoAsync(u.Authority, async () =>
        {
            if (_robots.TryGetValue(u.Authority, out var again)) return again;
            Interlocked.Increment(ref _robotsFetches);
            Robots r;
            try
            {
                using var response = await http.GetAsync(new Uri(u, "/robots.txt"), ct);
                r = response.IsSuccessStatusCode ? Robots.Parse(await response.Content.ReadAsStringAsync(ct)) : Robots.AllowAll;
            }
            catch (HttpRequestException) { r = Robots.AllowAll; }
            _robots[u.Authority] = r;
            return r;
        }, ct);
        return robots;
    }
}
