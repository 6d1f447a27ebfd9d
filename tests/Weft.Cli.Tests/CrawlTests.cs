using System.Text.RegularExpressions;
using Xunit;

namespace Weft.Cli.Tests;

/// <summary>`weft crawl --quick` crawls the embedded demo site on loopback: every page exactly once, robots.txt once (SingleFlight), no disallowed page.</summary>
[Collection("weft")]
public class CrawlTests
{
    [Fact]
    public async Task Quick_with_compare_fetches_every_page_exactly_once_and_shows_three_strategies()
    {
        var r = await Weft.Run(TimeSpan.FromMinutes(3), "crawl", "--quick", "--compare", "--pages", "150");
        Assert.True(r.ExitCode == 0, r.ToString());
        string flat = Regex.Replace(r.Stdout, @"\s+", " "); // the console wraps long lines
        Assert.Contains("fetched each page exactly once: yes (151 distinct pages requested, 0 more than once, 0 of the 150 reachable never; 0 requests to robots-disallowed pages; robots.txt requested 1 time(s))", flat, StringComparison.Ordinal);
        // 150 pages: every 97th answers 500 (page 97), and page 3 links to the missing /page/0.
        Assert.Matches(new Regex(@"│ pages fetched\s+│\s+149 │"), r.Stdout);
        Assert.Matches(new Regex(@"│ errors \(failed, missing or timed out\)\s+│\s+2 │"), r.Stdout);
        Assert.Matches(new Regex(@"│ robots.txt fetches \(SingleFlight per host\)\s+│\s+1 │"), r.Stdout);
        foreach (string s in new[] { "sequential", "thread per request", "goroutines" })
            Assert.Matches(new Regex($@"│ {s}\s+│\s+149 │\s+2 │"), r.Stdout);
    }
}
