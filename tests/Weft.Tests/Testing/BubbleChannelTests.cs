using Weft.Testing;
using Xunit;

namespace Weft.Tests.Testing;

/// <summary>Channels, select, timers and sync primitives inside bubbles.</summary>
public class BubbleChannelTests
{
    [Fact]
    public async Task UsingABubblesChannelFromOutsideIsAClearError()
    {
        Chan<int>? leaked = null;
        await Bubble.Run(() => { leaked = new Chan<int>(4); return Task.CompletedTask; }, seed: 5).Within();
        var ex = Assert.Throws<InvalidOperationException>(() => leaked!.TrySend(1));
        Assert.Contains("belongs to a Weft bubble (seed 5)", ex.Message);
        Assert.Throws<InvalidOperationException>(() => leaked!.Close());
        Assert.Throws<InvalidOperationException>(() => { _ = leaked!.ReceiveAsync(); });
    }

    [Fact]
    public async Task TimersAfterAndTickersRunOnVirtualTime()
    {
        var seen = new List<(string what, DateTimeOffset at)>();
        await Bubble.Run(async b =>
        {
            DateTime fired = await Go.After(TimeSpan.FromMinutes(30)).ReceiveAsync();
            seen.Add(("after", b.Now));
            Assert.Equal((Bubble.Epoch + TimeSpan.FromMinutes(30)).UtcDateTime, fired);
            var ticker = Go.NewTicker(TimeSpan.FromHours(1));
            for (int i = 0; i < 3; i++)
            {
                await ticker.C.ReceiveAsync();
                seen.Add(("tick", b.Now));
            }
            ticker.Stop();
        }).Within();
        Assert.Equal(Bubble.Epoch + TimeSpan.FromMinutes(30), seen[0].at);
        Assert.Equal(new[] { 1.5, 2.5, 3.5 }, seen.Skip(1).Select(s => (s.at - Bubble.Epoch).TotalHours));
    }

    private static async Task<string> SelectTrace(int seed)
    {
        var picks = new List<int>();
        await Bubble.Run(async () =>
        {
            var chans = Enumerable.Range(0, 4).Select(_ => new Chan<int>(64)).ToArray();
            foreach (var c in chans) for (int i = 0; i < 50; i++) c.TrySend(i);
            var sel = new Select();
            var cases = chans.Select(c => sel.Receive(c)).ToArray();
            for (int i = 0; i < 100; i++) picks.Add(await sel.WaitAsync());
        }, seed).Within();
        return string.Join(",", picks);
    }

    [Fact]
    public async Task SelectChoicesReplayWithTheSeed()
    {
        Assert.Equal(await SelectTrace(77), await SelectTrace(77));
        Assert.NotEqual(await SelectTrace(77), await SelectTrace(78));
    }

    [Fact]
    public async Task ADeadlockOnChannelsNamesEachGoroutineAndWhatItWaitsFor()
    {
        var ex = await Assert.ThrowsAsync<DeadlockException>(() => Bubble.Run(async () =>
        {
            var a = new Chan<int>();
            var b = new Chan<int>();
            Go.Run(async () => { await a.ReceiveAsync(); await b.SendAsync(1); });   // waits on a
            await Go.Sleep(TimeSpan.FromSeconds(2));
            await b.ReceiveAsync();                                                 // waits on b: nobody sends on a
        })).Within();
        var lines = ex.Message.Split('\n').Where(l => l.StartsWith("goroutine ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Contains("waiting, chan receive", l));
        Assert.Contains(lines, l => l.Contains("2000 ms virtual"));
    }

    [Fact]
    public async Task AProducerConsumerPipelineCompletesUnderManySeeds()
    {
        int passed = await Bubble.Explore(async b =>
        {
            var jobs = new Chan<int>(2);
            var results = new Chan<int>();
            var wg = new Weft.Sync.WaitGroup();
            for (int w = 0; w < 3; w++)
            {
                wg.Go(async () =>
                {
                    await foreach (int j in jobs) await results.SendAsync(j * j);
                });
            }
            Go.Run(async () => { await wg.WaitAsync(); results.Close(); });
            Go.Run(async () => { for (int i = 1; i <= 10; i++) await jobs.SendAsync(i); jobs.Close(); });
            int sum = 0;
            await foreach (int r in results) sum += r;
            Assert.Equal(385, sum);
        }, seeds: 100).Within();
        Assert.Equal(100, passed);
    }
}
