using Weft.Sync;
using Weft.Testing;
using Xunit;

namespace Weft.Tests.Sync;

public class RWMutexTests
{
    [Fact]
    public async Task WriterIsNotStarvedByAStreamOfReaders()
    {
        var rw = new RWMutex();
        using var stop = new CancellationTokenSource();
        var wg = new WaitGroup();
        for (int i = 0; i < 4; i++)
        {
            wg.Go(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await rw.RLockAsync();
                    MutexTests.SpinFor(TimeSpan.FromMicroseconds(50));
                    rw.RUnlock();
                }
            });
        }
        var wrote = new TaskCompletionSource();
        Go.Run(async () =>
        {
            await Go.Sleep(TimeSpan.FromMilliseconds(5));
            for (int i = 0; i < 20; i++)
            {
                await rw.LockAsync();
                rw.Unlock();
            }
            wrote.SetResult();
        });
        try { await wrote.Task.Within(TimeSpan.FromSeconds(20)); }
        finally { stop.Cancel(); }
        await wg.WaitAsync().Within();
    }

    [Fact]
    public async Task ReadersShare_WritersExclude()
    {
        var rw = new RWMutex();
        int readers = 0, writers = 0, bad = 0, maxReaders = 0;
        var wg = new WaitGroup();
        for (int i = 0; i < 8; i++)
        {
            bool writer = i % 4 == 0;
            bool blocking = i % 2 == 1;
            wg.Go(async () =>
            {
                for (int j = 0; j < 3000; j++)
                {
                    if (writer)
                    {
                        if (blocking) rw.Lock(); else await rw.LockAsync();
                        if (Interlocked.Increment(ref writers) != 1 || Volatile.Read(ref readers) != 0) Interlocked.Increment(ref bad);
                        Interlocked.Decrement(ref writers);
                        rw.Unlock();
                    }
                    else
                    {
                        if (blocking) rw.RLock(); else await rw.RLockAsync();
                        int r = Interlocked.Increment(ref readers);
                        if (r > Volatile.Read(ref maxReaders)) Volatile.Write(ref maxReaders, r);
                        if (Volatile.Read(ref writers) != 0) Interlocked.Increment(ref bad);
                        Interlocked.Decrement(ref readers);
                        rw.RUnlock();
                    }
                    if (j % 500 == 0) await Go.Yield();
                }
            });
        }
        await wg.WaitAsync().Within();
        Assert.Equal(0, bad);
        Assert.True(rw.TryLock());
        rw.Unlock();
    }

    [Fact]
    public void PendingWriterBlocksNewReaders()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.RLock());
        var writer = rw.LockAsync();
        Assert.False(writer.IsCompleted);
        Assert.False(rw.TryRLock()); // a writer waits: new readers queue behind it
        rw.RUnlock();
        Assert.True(writer.IsCompleted);
        rw.Unlock();
        Assert.True(rw.TryRLock());
        rw.RUnlock();
    }

    [Fact]
    public async Task CancelledPendingWriter_LetsQueuedReadersIn()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.RLock());
        using var cts = new CancellationTokenSource();
        var writer = rw.LockAsync(cts.Token).AsTask();
        var reader = rw.RLockAsync().AsTask();
        Assert.False(reader.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.Within());
        await reader.Within();
        rw.RUnlock();
        rw.RUnlock();
        Assert.True(rw.TryLock());
        rw.Unlock();
    }

    [Fact]
    public void Misuse_Throws()
    {
        var rw = new RWMutex();
        Assert.Throws<SynchronizationLockException>(rw.Unlock);
        Assert.Throws<SynchronizationLockException>(rw.RUnlock);
        Assert.True(rw.TryLock());
        rw.Unlock();
    }
}

/// <summary>
/// RWMutex hand-overs, cancellations and the windows between a failed fast path and the queue lock, forced with
/// <see cref="SyncTestHook"/>; each checks the exact state word afterwards.
/// </summary>
public class RWMutexWindowTests
{
    private const int Writer = RWMutex.Writer, Queued = RWMutex.Queued;

    private static void AssertFreeAndUsable(RWMutex rw)
    {
        Assert.False(rw.IsQueueLockHeld);
        Assert.Equal(0, rw.State);
        Assert.True(rw.TryLock());
        rw.Unlock();
        Assert.True(rw.TryRLock());
        rw.RUnlock();
        Assert.Equal(0, rw.State);
    }

    [Fact]
    public async Task CancelledQueuedWriter_LeavesTheReadersQueueIntact()
    {
        // Regression (issue 13, bug 1): Cancel unlinked a queued writer through the readers' queue, losing the
        // queued readers and leaving the cancelled writer at the head of the writers' queue.
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        using var cts = new CancellationTokenSource();
        var w2 = rw.LockAsync(cts.Token).AsTask();
        var r = rw.RLockAsync().AsTask();
        Assert.Equal(Writer | Queued, rw.State);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w2.Within());
        Assert.Equal(Writer | Queued, rw.State); // the reader still waits
        rw.Unlock();
        Assert.Equal(1, rw.State); // the reader was admitted; no writer is left
        await r.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.RUnlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task WritersQueuedBehindAWriter_GetItInTurn_AndTheReadersBetweenThemGoFirst()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        var w2 = rw.LockAsync().AsTask();
        var r1 = rw.RLockAsync().AsTask();
        var w3 = rw.LockAsync().AsTask();
        Assert.Equal(Writer | Queued, rw.State);
        rw.Unlock(); // R1 is admitted; W2 becomes the draining writer; W3 stays queued
        Assert.Equal(1 | Writer | Queued, rw.State);
        await r1.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        Assert.False(w2.IsCompleted);
        rw.RUnlock(); // the last reader out hands the mutex to W2
        Assert.Equal(Writer | Queued, rw.State);
        await w2.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        Assert.False(w3.IsCompleted);
        Assert.False(rw.TryRLock());
        rw.Unlock(); // to W3, the last one queued
        Assert.Equal(Writer, rw.State);
        await w3.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.Unlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task CancelledQueuedReader_IsUnlinked_OthersStay()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        using var cts1 = new CancellationTokenSource();
        using var cts2 = new CancellationTokenSource();
        var r1 = rw.RLockAsync(cts1.Token).AsTask();
        var r2 = rw.RLockAsync(cts2.Token).AsTask();
        cts1.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => r1.Within());
        Assert.Equal(Writer | Queued, rw.State); // R2 still queued
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => r2.Within());
        Assert.Equal(Writer, rw.State); // nobody queued: the fast Unlock works again
        rw.Unlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task Unlock_MeetsAReaderClaimedByItsCanceller_AdmitsOnlyTheOthers()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        using var cts = new CancellationTokenSource();
        var r1 = rw.RLockAsync(cts.Token).AsTask();
        var r2 = rw.RLockAsync().AsTask();
        using (Hooks.At(rw, SyncTestHook.Window.BeforeCancelLock, rw.Unlock))
            cts.Cancel();
        Assert.Equal(1, rw.State); // R2 only
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => r1.Within());
        await r2.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.RUnlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task Unlock_MeetsAWriterClaimedByItsCanceller_TheCancelHandsOverAgain()
    {
        // The next writer is taken off the queue by Unlock but its claim fails (its canceller won): it stays the
        // draining writer until its Cancel runs, which hands the mutex on to the writer behind it.
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        using var cts = new CancellationTokenSource();
        var w2 = rw.LockAsync(cts.Token).AsTask();
        var w3 = rw.LockAsync().AsTask();
        using (Hooks.At(rw, SyncTestHook.Window.BeforeCancelLock, () =>
        {
            rw.Unlock();
            Assert.Equal(Writer | Queued, rw.State); // W2 (claimed by its canceller) drains; W3 is queued
        }))
        {
            cts.Cancel();
        }
        Assert.Equal(Writer, rw.State); // W3 holds it
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w2.Within());
        await w3.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.Unlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task DrainingWriterCancelled_AdmitsTheReadersItHeldBack()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.RLock());
        using var cts = new CancellationTokenSource();
        var w = rw.LockAsync(cts.Token).AsTask();
        var r2 = rw.RLockAsync().AsTask();
        Assert.Equal(1 | Writer | Queued, rw.State);
        cts.Cancel();
        Assert.Equal(2, rw.State);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.Within());
        await r2.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.RUnlock();
        rw.RUnlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task LastReaderLeavesWhileTheDrainingWritersCancelIsPending_TheMutexEndsFree()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.RLock());
        using var cts = new CancellationTokenSource();
        var w = rw.LockAsync(cts.Token).AsTask();
        using (Hooks.At(rw, SyncTestHook.Window.BeforeCancelLock, () =>
        {
            rw.RUnlock(); // finds the draining writer claimed by its canceller: leaves it to Cancel
            Assert.Equal(Writer, rw.State);
        }))
        {
            cts.Cancel();
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.Within());
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public void RLock_WriterLeavesBetweenTheFastPathAndTheQueueLock_TakesTheReadLockAtOnce()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        ValueTask r;
        using (Hooks.At(rw, SyncTestHook.Window.BeforeQueueLock, rw.Unlock))
            r = rw.RLockAsync();
        Assert.True(r.IsCompletedSuccessfully);
        Assert.Equal(1, rw.State);
        rw.RUnlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task RLock_AnotherWriterTakesOverInThatWindow_Queues()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        ValueTask r;
        using (Hooks.At(rw, SyncTestHook.Window.BeforeQueueLock, () => { rw.Unlock(); Assert.True(rw.TryLock()); }))
            r = rw.RLockAsync();
        Assert.False(r.IsCompleted);
        Assert.Equal(Writer | Queued, rw.State);
        rw.Unlock();
        Assert.Equal(1, rw.State);
        await r.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.RUnlock();
        AssertFreeAndUsable(rw);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Lock_TheHolderLeavesInThatWindow_TakesTheWriteLockAtOnce(bool heldByAReader)
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => { if (heldByAReader) rw.RLock(); else rw.Lock(); });
        ValueTask w;
        using (Hooks.At(rw, SyncTestHook.Window.BeforeQueueLock, heldByAReader ? rw.RUnlock : rw.Unlock))
            w = rw.LockAsync();
        Assert.True(w.IsCompletedSuccessfully);
        Assert.Equal(Writer, rw.State);
        rw.Unlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task Lock_WriterLeavesAndAReaderEntersInThatWindow_DrainsTheReader()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        ValueTask w;
        using (Hooks.At(rw, SyncTestHook.Window.BeforeQueueLock, () => { rw.Unlock(); Assert.True(rw.TryRLock()); }))
            w = rw.LockAsync();
        Assert.False(w.IsCompleted);
        Assert.Equal(1 | Writer, rw.State); // it claimed the mutex and waits for the reader
        Assert.False(rw.TryRLock());
        rw.RUnlock();
        Assert.Equal(Writer, rw.State);
        await w.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.Unlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public void Misuse_LeavesTheMutexUsable_AndItsStateUnchanged()
    {
        var rw = new RWMutex();
        Assert.Throws<SynchronizationLockException>(rw.Unlock);
        AssertFreeAndUsable(rw);
        Assert.Throws<SynchronizationLockException>(rw.RUnlock);
        AssertFreeAndUsable(rw);

        TestTimeout.Blocking(() => rw.Lock()); // a writer holds: RUnlock is misuse, and leaves the writer holding
        Assert.Throws<SynchronizationLockException>(rw.RUnlock);
        Assert.Equal(Writer, rw.State);
        Assert.False(rw.IsQueueLockHeld);
        rw.Unlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public async Task Unlock_WhileAWriterOnlyDrains_IsMisuse_AndTheWriterStillGetsIt()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.RLock());
        var w = rw.LockAsync().AsTask();
        Assert.Equal(1 | Writer, rw.State);
        Assert.Throws<SynchronizationLockException>(rw.Unlock); // nobody holds the write lock yet
        Assert.Equal(1 | Writer, rw.State);
        Assert.False(rw.IsQueueLockHeld);
        rw.RUnlock();
        await w.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        rw.Unlock();
        AssertFreeAndUsable(rw);
    }

    [Fact]
    public void Unlock_WithQueuedWaitersButNotLocked_IsMisuse()
    {
        // Queued without Writer cannot happen; Writer set by a draining writer is the one misuse with the slow path.
        var rw = new RWMutex();
        Assert.Throws<SynchronizationLockException>(rw.Unlock);
        Assert.False(rw.IsQueueLockHeld);
    }
}
