using Weft.Sync;
using Xunit;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Tests.GoPort;

/// <summary>
/// golang.org/x/sync semaphore/semaphore_test.go, re-expressed against <see cref="Semaphore"/> (Go's Weighted).
/// Go's context deadlines become CancellationTokens; Go's goroutines are Weft goroutines.
/// </summary>
public class SemaphoreTest
{
    private static readonly TimeSpan MaxSleep = TimeSpan.FromMilliseconds(1);

    private static async Task HammerWeighted(Semaphore sem, long n, int loops)
    {
        for (int i = 0; i < loops; i++)
        {
            await sem.AcquireAsync(n);
            await Go.Sleep(TimeSpan.FromTicks(Random.Shared.NextInt64(MaxSleep.Ticks)));
            sem.Release(n);
        }
    }

    [Fact]
    public async Task TestWeighted()
    {
        // n goroutines hammer a semaphore of size n, goroutine i with weight i (0 included).
        int n = Go.MaxProcs;
        int loops = 10000 / n;
        var sem = new Semaphore(n);
        var wg = new WaitGroup();
        for (int i = 0; i < n; i++)
        {
            long weight = i;
            wg.Go(() => HammerWeighted(sem, weight, loops));
        }
        await wg.WaitAsync().Within(TimeSpan.FromSeconds(60));
        Assert.Equal(n, sem.Available);
    }

    [Fact]
    public void TestWeightedPanic()
    {
        // Go panics on a release of an unacquired semaphore; Weft throws.
        var w = new Semaphore(1);
        Assert.Throws<SemaphoreFullException>(() => w.Release(1));
    }

    [Fact]
    public void TestWeightedTryAcquire()
    {
        var sem = new Semaphore(2);
        var tries = new List<bool>();
        TestTimeout.Blocking(() => sem.Acquire(1));
        tries.Add(sem.TryAcquire(1));
        tries.Add(sem.TryAcquire(1));
        sem.Release(2);
        tries.Add(sem.TryAcquire(1));
        TestTimeout.Blocking(() => sem.Acquire(1));
        tries.Add(sem.TryAcquire(1));
        Assert.Equal(new[] { true, false, true, false }, tries);
    }

    [Fact]
    public async Task TestWeightedAcquire()
    {
        var sem = new Semaphore(2);
        async Task<bool> TryAcquire(long n)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(10));
            try { await sem.AcquireAsync(n, cts.Token); return true; }
            catch (OperationCanceledException) { return false; }
        }
        var tries = new List<bool>();
        TestTimeout.Blocking(() => sem.Acquire(1));
        tries.Add(await TryAcquire(1));
        tries.Add(await TryAcquire(1));
        sem.Release(2);
        tries.Add(await TryAcquire(1));
        TestTimeout.Blocking(() => sem.Acquire(1));
        tries.Add(await TryAcquire(1));
        Assert.Equal(new[] { true, false, true, false }, tries);
    }

    [Fact]
    public async Task TestWeightedDoesntBlockIfTooBig()
    {
        // Deviation (docs/go-differences.md): Go parks an Acquire(n + 1) until its context ends; Weft throws at
        // the call. What Go checks still holds: the impossible request does not block the small ones.
        const int n = 2;
        var sem = new Semaphore(n);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = sem.AcquireAsync(n + 1); });
        var g = new ErrGroup();
        for (int i = n * 3; i > 0; i--)
        {
            g.Go(async () =>
            {
                await sem.AcquireAsync(1, g.Token);
                await Go.Sleep(TimeSpan.FromMilliseconds(1));
                sem.Release(1);
            });
        }
        await g.WaitAsync().AsTask().Within();
        Assert.Equal(n, sem.Available);
    }

    [Fact]
    public async Task TestLargeAcquireDoesntStarve()
    {
        // Merely finishing is success: a large Acquire is not starved by a stream of small ones.
        int n = Go.MaxProcs;
        var sem = new Semaphore(n);
        bool running = true;
        var wg = new WaitGroup();
        for (int i = n; i > 0; i--)
        {
            await sem.AcquireAsync(1);
            wg.Go(async () =>
            {
                try
                {
                    while (Volatile.Read(ref running))
                    {
                        await Go.Sleep(TimeSpan.FromMilliseconds(1));
                        sem.Release(1);
                        await sem.AcquireAsync(1);
                    }
                }
                finally
                {
                    sem.Release(1);
                }
            });
        }
        await sem.AcquireAsync(n).AsTask().Within();
        Volatile.Write(ref running, false);
        sem.Release(n);
        await wg.WaitAsync().Within();
        Assert.Equal(n, sem.Available);
    }

    [Fact]
    public async Task TestAllocCancelDoesntStarve()
    {
        var sem = new Semaphore(10);
        TestTimeout.Blocking(() => sem.Acquire(1)); // so that Acquire(10) blocks, and can eventually succeed
        using var cts = new CancellationTokenSource();
        var big = Task.Run(async () =>
        {
            try { await sem.AcquireAsync(10, cts.Token); }
            catch (OperationCanceledException) { }
        });
        var until = DateTime.UtcNow + TestTimeout.Default;
        while (sem.TryAcquire(1)) // until the Acquire(10) is queued
        {
            Assert.True(DateTime.UtcNow < until, "The Acquire(10) never queued.");
            sem.Release(1);
            await Go.Yield();
        }
        // Take a token while the big request is cancelled: both return, in either order.
        _ = Task.Run(cts.Cancel);
        await sem.AcquireAsync(1).AsTask().Within();
        sem.Release(1);
        await big.Within();
        Assert.Equal(9, sem.Available); // the first token is still held; the cancelled request holds nothing
    }

    [Fact]
    public async Task TestWeightedAcquireCanceled()
    {
        // go.dev/issue/63615: a token cancelled before enough tokens are free fails the Acquire, and takes nothing.
        var sem = new Semaphore(2);
        using var cts = new CancellationTokenSource();
        TestTimeout.Blocking(() => sem.Acquire(1));
        var other = Task.Run(async () =>
        {
            while (sem.TryAcquire(1)) sem.Release(1); // until the Acquire(2) below is queued
            cts.Cancel();
            await Task.Yield();
            sem.Release(1);
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sem.AcquireAsync(2, cts.Token).AsTask().Within());
        await other.Within();
        Assert.True(sem.TryAcquire(2)); // both tokens are back
        sem.Release(2);
        // And no acquire with a cancelled token, even one that would not block.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sem.AcquireAsync(1, cts.Token).AsTask().Within());
        Assert.Throws<OperationCanceledException>(() => TestTimeout.Blocking(() => sem.Acquire(1, cts.Token)));
        Assert.Equal(2, sem.Available);
    }
}
