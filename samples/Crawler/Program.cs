// A web crawler: one goroutine per page (they are cheap), a Weft Semaphore bounding the requests in flight, a Mutex
// around the visited set, an ErrGroup to wait for them all. The site is an ASP.NET Core minimal API that this program
// starts itself on 127.0.0.1 with a free port, so the sample needs no network.
//
//   dotnet run -c Release --project samples/Crawler [pages] [parallel requests]
//
// Prints what it crawled; exits 0 when every reachable page was fetched exactly once.
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Weft.Sync;

int pages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 255;
int parallel = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;

// The site: page n links to 2n and 2n+1 (a binary tree), back to the root and to itself; page 7 has a broken link.
var served = new ConcurrentDictionary<int, int>();
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls("http://127.0.0.1:0");
await using var site = builder.Build();
site.MapGet("/page/{n:int}", (int n) =>
{
    if (n < 1 || n > pages) return Results.NotFound();
    served.AddOrUpdate(n, 1, static (_, c) => c + 1);
    string links = string.Concat(new[] { 2 * n, 2 * n + 1, 1, n }.Where(k => k <= pages).Select(k => $"<a href=\"/page/{k}\">{k}</a> "));
    if (n == 7) links += "<a href=\"/page/100000\">gone</a>";
    return Results.Content($"<html><body><h1>page {n}</h1>{links}</body></html>", "text/html");
});
await site.StartAsync();
string root = site.Urls.First();

// The crawler.
using var http = new HttpClient { BaseAddress = new Uri(root) };
var visited = new HashSet<string>();
var visitedLock = new Mutex();              // Weft.Sync.Mutex under implicit usings
var inFlight = new Semaphore(parallel);     // Weft.Sync.Semaphore: bounds requests, not goroutines
var broken = new ConcurrentBag<string>();
var crawl = new ErrGroup();
int fetched = 0;

Visit("/page/1");
await crawl.WaitAsync();                    // every goroutine of the crawl has returned (throws the first failure)
await site.StopAsync();

int reachable = served.Count;
bool once = served.Values.All(c => c == 1);
Console.WriteLine($"crawled {fetched} pages of {pages} from {root} with at most {parallel} requests in flight");
Console.WriteLine($"broken links: {broken.Count} ({string.Join(", ", broken)})");
Console.WriteLine($"each page fetched once: {once}");
return fetched == pages && reachable == pages && once && broken.Count == 1 ? 0 : 1;

void Visit(string path)
{
    crawl.Go(async () =>
    {
        await visitedLock.LockAsync();
        bool first = visited.Add(path);
        visitedLock.Unlock();
        if (!first) return;

        string body;
        await inFlight.AcquireAsync();
        try
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), crawl.Token);
            if (!response.IsSuccessStatusCode)
            {
                broken.Add(path);
                return;
            }
            body = await response.Content.ReadAsStringAsync(crawl.Token);
        }
        finally
        {
            inFlight.Release();
        }
        Interlocked.Increment(ref fetched);
        foreach (Match link in SitePatterns.Links().Matches(body)) Visit(link.Groups[1].Value);
    });
}

internal static partial class SitePatterns
{
    [GeneratedRegex("href=\"(/page/[0-9]+)\"")]
    public static partial Regex Links();
}
