using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

public class WaitGroupTests
{
    [Fact]
    public async Task ReusableAfterZero()
    {
        var wg = new WaitGroup();
        for (int round = 0; round < 20; round++)
        {
            int done = 0;
            for (int i = 0; i < 10; i++)
            {
                wg.Go(async () =>
                {
                    await Go.Yield();
                    Interlocked.Increment(ref done);
                });
            }
            if (round % 2 == 0) await wg.WaitAsync().Within();
            else await Task.Run(wg.Wait).Within();
            Assert.Equal(10, Volatile.Read(ref done));
            Assert.Equal(0, wg.Count);
        }
    }

    [Fact]
    public void NegativeCounter_Throws_AndLeavesCounterUnchanged()
    {
        var wg = new WaitGroup();
        Assert.Throws<InvalidOperationException>(wg.Done);
        Assert.Equal(0, wg.Count);
        wg.Add(1);
        Assert.Throws<InvalidOperationException>(() => wg.Add(-2));
        Assert.Equal(1, wg.Count);
        wg.Done();
        wg.Wait(); // zero: returns at once
    }

    [Fact]
    public async Task ManyWaiters_AllReleased_ThreadsAndGoroutines()
    {
        var wg = new WaitGroup();
        wg.Add(1);
        var waiters = new WaitGroup();
        int released = 0;
        for (int i = 0; i < 20; i++)
            waiters.Go(async () => { await wg.WaitAsync(); Interlocked.Increment(ref released); });
        var t = new Thread(() => { wg.Wait(); Interlocked.Increment(ref released); });
        t.Start();
        await Go.Sleep(TimeSpan.FromMilliseconds(10));
        wg.Done();
        await waiters.WaitAsync().Within();
        await Task.Run(t.Join).Within();
        Assert.Equal(21, released);
    }

    [Fact]
    public async Task WaitAsync_Cancelled()
    {
        var wg = new WaitGroup();
        wg.Add(1);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wg.WaitAsync(cts.Token).Within());
        wg.Done();
        await wg.WaitAsync().Within();
    }
}
