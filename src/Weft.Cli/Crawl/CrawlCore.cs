// What every crawl strategy shares: the visited set (a page is claimed once, before it is fetched, so no page is
// fetched twice whatever the strategy), link extraction, robots.txt rules, and the live statistics the view reads.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Weft.Cli.Crawl;

internal sealed record CrawlOptions(Uri Root, int MaxPages, int Concurrency, int PerHostLimit, TimeSpan PerHostDelay, TimeSpan RequestTimeout);

/// <summary>The end of a crawl.</summary>
internal sealed record CrawlResult(string Strategy, int Pages, int Errors, int SkippedByRobots, double Seconds, int PeakThreads, double P50Ms, double P99Ms)
{
    public double PagesPerSecond => Pages / Seconds;
}

/// <summary>Counters a live view reads while the crawl runs (racy reads are fine: a view shows a moment).</summary>
internal sealed class CrawlStats
{
    private readonly List<double> _latenciesMs = [];
    private int _done, _inFlight, _errors, _skipped, _peakThreads;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public int Done => Volatile.Read(ref _done);
    public int InFlight => Volatile.Read(ref _inFlight);
    public int Errors => Volatile.Read(ref _errors);
    public int Skipped => Volatile.Read(ref _skipped);
    public int PeakThreads => Volatile.Read(ref _peakThreads);
    public TimeSpan Elapsed => _clock.Elapsed;

    public void Started() => Interlocked.Increment(ref _inFlight);

    public void Finished(double ms, bool ok)
    {
        Interlocked.Decrement(ref _inFlight);
        if (ok) Interlocked.Increment(ref _done);
        else Interlocked.Increment(ref _errors);
        lock (_latenciesMs) _latenciesMs.Add(ms);
    }

    public void SkippedByRobots() => Interlocked.Increment(ref _skipped);

    /// <summary>Samples this process's thread count (the view and the strategies call it now and then).</summary>
    public void SampleThreads()
    {
        int n = Process.GetCurrentProcess().Threads.Count;
        int peak;
        while (n > (peak = Volatile.Read(ref _peakThreads)) && Interlocked.CompareExchange(ref _peakThreads, n, peak) != peak) { }
    }

    public (double P50, double P99) Latency()
    {
        double[] s;
        lock (_latenciesMs) s = [.. _latenciesMs];
        Array.Sort(s);
        return (Lab.Measure.Percentile(s, 50), Lab.Measure.Percentile(s, 99));
    }

    public CrawlResult Result(string strategy)
    {
        SampleThreads();
        var (p50, p99) = Latency();
        return new CrawlResult(strategy, Done, Errors, Skipped, _clock.Elapsed.TotalSeconds, PeakThreads, p50, p99);
    }
}

/// <summary>robots.txt rules for User-agent *: the Disallow prefixes.</summary>
internal sealed class Robots(IReadOnlyList<string> disallow)
{
    public static readonly Robots AllowAll = new([]);

    public bool Allows(string path) => !disallow.Any(p => p.Length > 0 && path.StartsWith(p, StringComparison.Ordinal));

    public static Robots Parse(string text)
    {
        var rules = new List<string>();
        bool forUs = false;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Split('#')[0].Trim();
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            string key = line[..colon].Trim().ToLowerInvariant(), value = line[(colon + 1)..].Trim();
            if (key == "user-agent") forUs = value == "*";
            else if (key == "disallow" && forUs) rules.Add(value);
        }
        return new Robots(rules);
    }
}

internal static partial class CrawlCore
{
    [GeneratedRegex("href=\"([^\"#]+)\"", RegexOptions.IgnoreCase)]
    private static partial Regex Href();

    /// <summary>The links of <paramref name="html"/> on the same host as <paramref name="page"/>.</summary>
    public static IEnumerable<Uri> Links(string html, Uri page)
    {
        foreach (Match m in Href().Matches(html))
        {
            if (Uri.TryCreate(page, m.Groups[1].Value, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) && u.Authority == page.Authority)
                yield return new UriBuilder(u) { Fragment = "" }.Uri;
        }
    }

    public static HttpClient NewClient(TimeSpan timeout) => new(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = timeout,
        DefaultRequestHeaders = { { "User-Agent", "weft-crawl/1 (+https://github.com/weft)" } },
    };

    /// <summary>The visited set: <see cref="Claim"/> is true once per URL, before its fetch.</summary>
    public sealed class Visited(int maxPages)
    {
        private readonly ConcurrentDictionary<string, bool> _seen = new();
        private int _claimed;

        public bool Claim(Uri u)
        {
            if (Volatile.Read(ref _claimed) >= maxPages) return false;
            if (!_seen.TryAdd(u.AbsoluteUri, true)) return false;
            if (Interlocked.Increment(ref _claimed) > maxPages) return false;
            return true;
        }
    }

    /// <summary>A blocking fetch for the thread strategies: the body, or null on an error status or failure.</summary>
    public static string? FetchBlocking(HttpClient http, Uri u, CrawlStats stats)
    {
        stats.Started();
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            using var response = http.Send(new HttpRequestMessage(HttpMethod.Get, u));
            if (!response.IsSuccessStatusCode) { stats.Finished(Stopwatch.GetElapsedTime(t0).TotalMilliseconds, false); return null; }
            using var reader = new StreamReader(response.Content.ReadAsStream());
            string body = reader.ReadToEnd();
            stats.Finished(Stopwatch.GetElapsedTime(t0).TotalMilliseconds, true);
            return body;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            stats.Finished(Stopwatch.GetElapsedTime(t0).TotalMilliseconds, false);
            return null;
        }
    }

    public static Robots RobotsBlocking(HttpClient http, Uri root)
    {
        try
        {
            using var response = http.Send(new HttpRequestMessage(HttpMethod.Get, new Uri(root, "/robots.txt")));
            if (!response.IsSuccessStatusCode) return Robots.AllowAll;
            using var reader = new StreamReader(response.Content.ReadAsStream());
            return Robots.Parse(reader.ReadToEnd());
        }
        catch (HttpRequestException) { return Robots.AllowAll; }
    }
}
