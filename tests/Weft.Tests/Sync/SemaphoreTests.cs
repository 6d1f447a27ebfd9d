using Weft.Sync;
using Xunit;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Tests.Sync;

public class SemaphoreTests
{
    [Fact]
    public async Task Fifo_LargeRequestIsNotStarvedBySmallOnes()
    {
        var sem = new Semaphore(4);
        sem.Acquire(4);
        var order = new List<int>();
        var big = sem.AcquireAsync(4).AsTask().ContinueWith(_ => { lock (order) order.Add(4); });
        var smalls = Enumerable.Range(0, 4).Select(_ => sem.AcquireAsync(1).AsTask()).ToArray();
        Assert.False(sem.TryAcquire(1)); // waiters exist: no barging
        sem.Release(1); // 1 free, but the head wants 4: nobody moves, FIFO
        await Task.Delay(10);
        Assert.All(smalls, t => Assert.False(t.IsCompleted));
        sem.Release(3);
        await big.Within();
        Assert.All(smalls, t => Assert.False(t.IsCompleted));
        sem.Release(4);
        await Task.WhenAll(smalls).Within();
        sem.Release(4);
        Assert.Equal(4, sem.Available);
    }

    [Fact]
    public async Task Fifo_OrderOfGrants()
    {
        var sem = new Semaphore(1);
        sem.Acquire();
        var got = new List<int>();
        var tasks = new List<Task>();
        for (int i = 0; i < 10; i++)
        {
            int id = i;
            tasks.Add(sem.AcquireAsync().AsTask().ContinueWith(_ => { lock (got) got.Add(id); sem.Release(); }));
        }
        sem.Release();
        await Task.WhenAll(tasks).Within();
        Assert.Equal(Enumerable.Range(0, 10), got);
    }

    [Fact]
    public async Task NeverMoreThanCapacity()
    {
        var sem = new Semaphore(3);
        int inside = 0, max = 0;
        var wg = new WaitGroup();
        for (int i = 0; i < 16; i++)
        {
            bool blocking = i % 2 == 0;
            wg.Go(async () =>
            {
                for (int j = 0; j < 300; j++)
                {
                    if (blocking) sem.Acquire(); else await sem.AcquireAsync();
                    int n = Interlocked.Increment(ref inside);
                    int m;
                    while (n > (m = Volatile.Read(ref max)) && Interlocked.CompareExchange(ref max, n, m) != m) { }
                    await Go.Yield();
                    Interlocked.Decrement(ref inside);
                    sem.Release();
                }
            });
        }
        await wg.WaitAsync().Within();
        Assert.InRange(max, 1, 3);
        Assert.Equal(3, sem.Available);
    }

    [Fact]
    public async Task CancelledHead_LetsTheNextOnesIn()
    {
        var sem = new Semaphore(2);
        sem.Acquire(1);
        using var cts = new CancellationTokenSource();
        var big = sem.AcquireAsync(2, cts.Token).AsTask();
        var small = sem.AcquireAsync(1).AsTask();
        Assert.False(small.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => big.Within());
        await small.Within();
    }

    [Fact]
    public void BadInput_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Semaphore(0));
        var sem = new Semaphore(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => sem.Acquire(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => sem.TryAcquire(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = sem.AcquireAsync(0); });
        Assert.Throws<SemaphoreFullException>(() => sem.Release());
        Assert.Throws<ArgumentOutOfRangeException>(() => sem.Release(0));
    }
}
