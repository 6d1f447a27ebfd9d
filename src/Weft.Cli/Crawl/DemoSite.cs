// The demo site that `weft crawl` and the lab's I/O experiment crawl: an ASP.NET Core app (from the shared framework)
// that this process serves on 127.0.0.1 with a free port, so nothing leaves the machine.
//
// Shape: page n links to 2n, 2n+1 (a tree, so every page is reachable from /page/1), n+1 and back to the root; every
// page links once into /private/, which robots.txt disallows. Every FailEvery-th page answers 500, every SlowEvery-th
// is ten times slower than the others, and /page/0 (linked from page 3 unless BrokenLink is off) does not exist. Every request is counted by
// path, so a caller can check that no page was fetched twice.
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Weft.Cli.Crawl;

internal sealed record DemoSiteOptions(int Pages = 2_000, int LatencyMs = 20, int SizeBytes = 2_048, int FailEvery = 97, int SlowEvery = 61, bool BrokenLink = true);

internal sealed class DemoSite : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _served = new();

    public DemoSiteOptions Options { get; }
    public Uri Root { get; }

    /// <summary>How many times each path was requested.</summary>
    public IReadOnlyDictionary<string, int> Served => _served;

    /// <summary>
    /// The pages a crawl from /page/1 can reach: the links of pages that answer (a failing page's links are never
    /// seen, so a page linked only from failing pages is unreachable), without /private/ (robots.txt) and /page/0.
    /// </summary>
    public static IReadOnlySet<int> Reachable(DemoSiteOptions o)
    {
        var seen = new HashSet<int> { 1 };
        var queue = new Queue<int>([1]);
        while (queue.TryDequeue(out int n))
        {
            if (o.FailEvery > 0 && n % o.FailEvery == 0) continue;
            foreach (int k in Links(n, o))
            {
                if (seen.Add(k)) queue.Enqueue(k);
            }
        }
        return seen;
    }

    private static IEnumerable<int> Links(int n, DemoSiteOptions o) => new[] { 2 * n, 2 * n + 1, n + 1, 1 }.Where(k => k <= o.Pages);

    private DemoSite(WebApplication app, DemoSiteOptions options, Uri root)
    {
        _app = app;
        Options = options;
        Root = root;
    }

    public static async Task<DemoSite> StartAsync(DemoSiteOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Pages, 1, nameof(options.Pages));
        ArgumentOutOfRangeException.ThrowIfNegative(options.LatencyMs, nameof(options.LatencyMs));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        DemoSite? site = null;
        app.Use(async (ctx, next) =>
        {
            site!._served.AddOrUpdate(ctx.Request.Path.Value ?? "", 1, static (_, c) => c + 1);
            await next(ctx);
        });
        app.MapGet("/robots.txt", () => Results.Text("User-agent: *\nDisallow: /private/\n", "text/plain"));
        app.MapGet("/page/{n:int}", async (int n) =>
        {
            if (n < 1 || n > options.Pages) return Results.NotFound();
            int latency = options.SlowEvery > 0 && n % options.SlowEvery == 0 ? options.LatencyMs * 10 : options.LatencyMs;
            if (latency > 0) await Task.Delay(latency);
            if (options.FailEvery > 0 && n % options.FailEvery == 0) return Results.StatusCode(500);
            return Results.Content(Page(n, options), "text/html");
        });
        app.MapGet("/private/{n:int}", (int n) => Results.Text("robots.txt disallows this page", "text/plain"));
        await app.StartAsync();
        string url = app.Urls.First();
        site = new DemoSite(app, options, new Uri(url + "/page/1"));
        return site;
    }

    private static string Page(int n, DemoSiteOptions o)
    {
        var sb = new StringBuilder(o.SizeBytes + 256);
        sb.Append(CultureInfo.InvariantCulture, $"<html><head><title>page {n}</title></head><body><h1>page {n}</h1>");
        foreach (int k in Links(n, o)) sb.Append(CultureInfo.InvariantCulture, $"<a href=\"/page/{k}\">{k}</a> ");
        sb.Append(CultureInfo.InvariantCulture, $"<a href=\"/private/{n}\">private</a>");
        if (n == 3 && o.BrokenLink) sb.Append("<a href=\"/page/0\">gone</a>");
        sb.Append("<p>");
        while (sb.Length < o.SizeBytes) sb.Append("lorem ipsum dolor sit amet ");
        sb.Append("</p></body></html>");
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
