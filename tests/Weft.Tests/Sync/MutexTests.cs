using Weft.Sync;
using Xunit;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Tests.Sync;

public class MutexTests
{
    [Fact]
    public async Task MutualExclusion_GoroutinesAndThreadsMixed()
    {
        const int goroutines = 8, threads = 2, iterations = 20_000;
        var mu = new Mutex();
        long count = 0;
        int inside = 0, overlaps = 0;
        void Critical()
        {
            if (Interlocked.Exchange(ref inside, 1) != 0) Interlocked.Increment(ref overlaps);
            count++;
            Volatile.Write(ref inside, 0);
        }
        var wg = new WaitGroup();
        for (int i = 0; i < goroutines; i++)
        {
            bool useAsync = i % 2 == 0;
            wg.Go(async () =>
            {
                for (int j = 0; j < iterations; j++)
                {
                    if (useAsync) await mu.LockAsync(); else mu.Lock();
                    Critical();
                    mu.Unlock();
                    if (j % 1000 == 0) await Go.Yield();
                }
            });
        }
        var ts = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            for (int j = 0; j < iterations; j++)
            {
                if (!mu.TryLock()) mu.Lock();
                Critical();
                mu.Unlock();
            }
        })).ToList();
        ts.ForEach(t => t.Start());
        await wg.WaitAsync().Within();
        await Task.Run(() => ts.ForEach(t => t.Join())).Within();
        Assert.Equal(0, overlaps);
        Assert.Equal((goroutines + threads) * (long)iterations, count);
        Assert.False(mu.IsLocked);
    }

    [Fact]
    public void UnlockOfUnlocked_Throws()
    {
        var mu = new Mutex();
        Assert.Throws<SynchronizationLockException>(mu.Unlock);
        mu.Lock();
        mu.Unlock();
        Assert.Throws<SynchronizationLockException>(mu.Unlock);
    }

    [Fact]
    public void TryLock_FailsWhileHeld_NotReentrant()
    {
        var mu = new Mutex();
        Assert.True(mu.TryLock());
        Assert.False(mu.TryLock());
        mu.Unlock();
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public async Task NoOwner_AnotherGoroutineMayUnlock()
    {
        var mu = new Mutex();
        await mu.LockAsync();
        var done = new TaskCompletionSource();
        Go.Run(() => { mu.Unlock(); done.SetResult(); });
        await done.Task.Within();
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public async Task Starvation_WaiterGetsTheLockWhileAnotherRelocksInATightLoop()
    {
        // Go's TestMutexFairness: one goroutine re-locks in a loop holding the lock ~100 µs at a time; another
        // must still get the lock a few times. Normal mode alone could starve it; starvation mode hands it over.
        var mu = new Mutex();
        using var stop = new CancellationTokenSource();
        var hog = new TaskCompletionSource();
        Go.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await mu.LockAsync();
                SpinFor(TimeSpan.FromMicroseconds(100));
                mu.Unlock();
            }
            hog.SetResult();
        });
        var got = new TaskCompletionSource();
        Go.Run(async () =>
        {
            for (int i = 0; i < 10; i++)
            {
                await Go.Sleep(TimeSpan.FromMicroseconds(100));
                await mu.LockAsync();
                mu.Unlock();
            }
            got.SetResult();
        });
        try
        {
            await got.Task.Within(TimeSpan.FromSeconds(20));
        }
        finally
        {
            stop.Cancel();
        }
        await hog.Task.Within();
    }

    [Fact]
    public async Task LockAsync_Cancelled_ThrowsAndLeavesMutexUsable()
    {
        var mu = new Mutex();
        mu.Lock();
        using var cts = new CancellationTokenSource();
        var wait = mu.LockAsync(cts.Token).AsTask();
        var second = mu.LockAsync().AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.Within());
        mu.Unlock();
        await second.Within(); // the uncancelled waiter behind it still gets the mutex
        mu.Unlock();
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public async Task LockAsync_AlreadyCancelledToken_Throws()
    {
        var mu = new Mutex();
        mu.Lock();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => mu.LockAsync(new CancellationToken(true)).AsTask().Within());
        mu.Unlock();
    }

    [Fact]
    public async Task ManyCancelledWaiters_NoLostWakeUp()
    {
        var mu = new Mutex();
        var wg = new WaitGroup();
        long count = 0;
        for (int i = 0; i < 8; i++)
        {
            int id = i;
            wg.Go(async () =>
            {
                for (int j = 0; j < 2000; j++)
                {
                    using var cts = new CancellationTokenSource();
                    if ((j + id) % 3 == 0) cts.CancelAfter(0);
                    try { await mu.LockAsync(cts.Token); }
                    catch (OperationCanceledException) { continue; }
                    count++;
                    mu.Unlock();
                }
            });
        }
        await wg.WaitAsync().Within();
        Assert.True(count > 0);
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    internal static void SpinFor(TimeSpan t)
    {
        long end = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(t.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (System.Diagnostics.Stopwatch.GetTimestamp() < end) Thread.SpinWait(10);
    }
}
