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
        TestTimeout.Blocking(() => sem.Acquire(4));
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
        TestTimeout.Blocking(() => sem.Acquire());
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
        TestTimeout.Blocking(() => sem.Acquire(1));
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
        // More than the capacity could never be granted: a clear error at the call (Go blocks until its context ends).
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TestTimeout.Blocking(() => sem.Acquire(3)));
        Assert.Contains("3", e.Message);
        Assert.Contains("capacity, 2", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = sem.AcquireAsync(3); });
        Assert.Throws<ArgumentOutOfRangeException>(() => sem.TryAcquire(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => sem.TryAcquire(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = sem.AcquireAsync(-1); });
        Assert.Throws<ArgumentOutOfRangeException>(() => TestTimeout.Blocking(() => sem.Acquire(-1)));
        Assert.Throws<SemaphoreFullException>(() => sem.Release());
        Assert.Throws<ArgumentOutOfRangeException>(() => sem.Release(-1));
        Assert.Equal(2, sem.Available);
        Assert.False(sem.IsQueueLockHeld);
    }

    [Fact]
    public async Task ZeroWeight_IsGrantedAtOnceWhenNobodyWaits_OtherwiseInItsFifoTurn()
    {
        var sem = new Semaphore(2);
        TestTimeout.Blocking(() => sem.Acquire(0));
        await sem.AcquireAsync(0);
        Assert.True(sem.TryAcquire(0));
        Assert.Equal(2, sem.Available);
        sem.Release(0);
        Assert.Equal(2, sem.Available);

        TestTimeout.Blocking(() => sem.Acquire(2)); // all taken: a zero weight still needs no token
        Assert.True(sem.TryAcquire(0));
        Assert.True(sem.AcquireAsync(0).IsCompletedSuccessfully);

        var big = sem.AcquireAsync(1).AsTask(); // now somebody waits: zero waits its turn behind it, as in Go
        Assert.False(sem.TryAcquire(0));
        var zero = sem.AcquireAsync(0).AsTask();
        Assert.False(zero.IsCompleted);
        sem.Release(1); // grants the 1, then the 0 behind it
        await big.Within();
        await zero.Within();
        Assert.Equal(0, sem.Available);
        sem.Release(2);
        Assert.Equal(2, sem.Available);
    }

    [Fact]
    public void OverRelease_ChangesNothing_AndTheSemaphoreStillWorks()
    {
        var sem = new Semaphore(3);
        TestTimeout.Blocking(() => sem.Acquire(2));
        Assert.Throws<SemaphoreFullException>(() => sem.Release(3));
        Assert.False(sem.IsQueueLockHeld);
        Assert.Equal(1, sem.Available);
        Assert.True(sem.TryAcquire(1));
        sem.Release(3);
        Assert.Equal(3, sem.Available);
    }

    [Fact]
    public void Acquire_TokensReleasedBetweenItsCheckAndTheQueueLock_AreTakenAtOnce()
    {
        var sem = new Semaphore(2);
        TestTimeout.Blocking(() => sem.Acquire(2));
        ValueTask a;
        using (Hooks.At(sem, SyncTestHook.Window.BeforeQueueLock, () => sem.Release(2)))
            a = sem.AcquireAsync(2);
        Assert.True(a.IsCompletedSuccessfully);
        Assert.Equal(0, sem.Available);
        sem.Release(2);
    }

    [Fact]
    public async Task Release_MeetsAHeadClaimedByItsCanceller_GrantsTheNextOnes()
    {
        var sem = new Semaphore(2);
        TestTimeout.Blocking(() => sem.Acquire(2));
        using var cts = new CancellationTokenSource();
        var head = sem.AcquireAsync(2, cts.Token).AsTask();
        var next = sem.AcquireAsync(1).AsTask();
        using (Hooks.At(sem, SyncTestHook.Window.BeforeCancelLock, () => sem.Release(1)))
            cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => head.Within());
        await next.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, sem.Available);
        Assert.False(sem.IsQueueLockHeld);
        sem.Release(2);
        Assert.Equal(2, sem.Available);
    }

    [Fact]
    public async Task Release_MeetsAHeadThatFitsButIsClaimedByItsCanceller_GrantsItNothing()
    {
        // The head would fit, but its canceller claimed it first: the Release must skip it, not count its tokens as held.
        var sem = new Semaphore(2);
        TestTimeout.Blocking(() => sem.Acquire(2));
        using var cts = new CancellationTokenSource();
        var head = sem.AcquireAsync(1, cts.Token).AsTask();
        using (Hooks.At(sem, SyncTestHook.Window.BeforeCancelLock, () => sem.Release(1)))
            cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => head.Within());
        Assert.Equal(1, sem.Available);
        Assert.False(sem.IsQueueLockHeld);
        sem.Release(1);
        Assert.Equal(2, sem.Available);
    }

    [Fact]
    public async Task CancelledWaiterBehindTheHead_GrantsNothing_TheHeadStillWaits()
    {
        var sem = new Semaphore(2);
        TestTimeout.Blocking(() => sem.Acquire(1));
        var head = sem.AcquireAsync(2).AsTask();
        using var cts = new CancellationTokenSource();
        var second = sem.AcquireAsync(1, cts.Token).AsTask();
        var third = sem.AcquireAsync(1).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Within());
        Assert.False(head.IsCompleted);
        Assert.False(third.IsCompleted); // FIFO: behind the head, although one token is free
        Assert.Equal(1, sem.Available);
        sem.Release(1);
        await head.Within();
        Assert.False(third.IsCompleted);
        sem.Release(2);
        await third.Within();
        sem.Release(1);
        Assert.Equal(2, sem.Available);
    }
}
