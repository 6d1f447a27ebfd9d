using Weft.Tests;
using Xunit;

namespace Weft.Samples.Tests;

/// <summary>Each sample in samples/ runs end to end in a child process; the assertions are on what it must print.</summary>
public class SampleTests
{
    [Fact]
    public async Task Pipeline_delivers_every_item_exactly_once()
    {
        var r = await ChildProcess.RunSample("Pipeline", "20000", "4").Within(TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.ToString());
        long expected = 0;
        for (long i = 1; i <= 20_000; i++) expected += i * i;
        Assert.Contains($"pipeline: 20000 of 20000 items, sum of squares {expected} (expected {expected})", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(4, r.Stdout.Split('\n').Count(l => l.StartsWith("worker ", StringComparison.Ordinal)));
        Assert.DoesNotContain("all goroutines are asleep", r.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crawler_fetches_every_page_of_its_local_site_once()
    {
        var r = await ChildProcess.RunSample("Crawler", "127", "4").Within(TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("crawled 127 pages of 127 from http://127.0.0.1:", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("broken links: 1 (/page/100000)", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("each page fetched once: True", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BlockingPool_completes_every_job_with_the_right_result()
    {
        var r = await ChildProcess.RunSample("BlockingPool", "32").Within(TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("pool: 32 of 32 hashes right", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("terminated True", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("goroutines: 4 Go.Blocking calls and 4 Go.BlockingAsync calls done", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostedService_binds_its_settings_and_drains_every_order_on_shutdown()
    {
        var r = await ChildProcess.RunSample("HostedService", "150").Within(TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Weft runtime: MaxProcs 2, blocking threshold 20 ms, deadlock detection Report", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("Waiting for 1 registered goroutine group(s) to finish: order workers.", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("orders: produced 150, processed 150", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("all goroutines are asleep", r.All, StringComparison.Ordinal); // goroutines fed by a BackgroundService are not asleep for good
    }
}
