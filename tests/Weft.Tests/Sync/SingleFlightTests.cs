using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

public class SingleFlightTests
{
    [Fact]
    public async Task HundredConcurrentCallers_OneRun_SameResult()
    {
        var flights = new SingleFlight<string, int>();
        int runs = 0;
        var gate = new TaskCompletionSource();
        var results = new int[100];
        var wg = new WaitGroup();
        for (int i = 0; i < 100; i++)
        {
            int id = i;
            wg.Go(async () =>
            {
                results[id] = await flights.DoAsync("key", async () =>
                {
                    Interlocked.Increment(ref runs);
                    await gate.Task; // hold the flight open until every caller joined
                    return 7;
                });
            });
        }
        while (Go.NumGoroutine > 0 && Volatile.Read(ref runs) == 0) await Task.Delay(1);
        await Task.Delay(20);
        gate.SetResult();
        await wg.WaitAsync().Within();
        Assert.Equal(1, runs);
        Assert.All(results, r => Assert.Equal(7, r));
        // The flight ended: a new call runs again.
        Assert.Equal(8, await flights.DoAsync("key", () => Task.FromResult(8)).Within());
    }

    [Fact]
    public async Task ErrorIsShared()
    {
        var flights = new SingleFlight<int, int>();
        var gate = new TaskCompletionSource();
        var a = flights.DoAsync(1, async () => { await gate.Task; throw new InvalidOperationException("x"); });
        var b = flights.DoAsync(1, () => Task.FromResult(1));
        gate.SetResult();
        await Assert.ThrowsAsync<InvalidOperationException>(() => a.Within());
        await Assert.ThrowsAsync<InvalidOperationException>(() => b.Within());
    }

    [Fact]
    public async Task BlockingDo_FromThreads()
    {
        var flights = new SingleFlight<string, int>();
        int runs = 0;
        using var barrier = new Barrier(8);
        var ts = Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() =>
        {
            barrier.SignalAndWait();
            return flights.Do("k", () => { Interlocked.Increment(ref runs); Thread.Sleep(50); return 3; });
        }, TaskCreationOptions.LongRunning)).ToArray();
        var all = await Task.WhenAll(ts).Within();
        Assert.All(all, v => Assert.Equal(3, v));
        Assert.InRange(runs, 1, 2); // a straggler arriving after the flight landed may run it again
    }
}
