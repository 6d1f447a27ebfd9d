using Weft.Sync;
using Xunit;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Tests.Sync;

public class CondTests
{
    [Fact]
    public async Task ProducerConsumer_NoLostWakeUps()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        var queue = new Queue<int>();
        long sum = 0;
        const int items = 5000, consumers = 4;
        var wg = new WaitGroup();
        for (int c = 0; c < consumers; c++)
        {
            wg.Go(async () =>
            {
                while (true)
                {
                    await mu.LockAsync();
                    while (queue.Count == 0) await cond.WaitAsync();
                    int v = queue.Dequeue();
                    mu.Unlock();
                    if (v < 0) return;
                    Interlocked.Add(ref sum, v);
                }
            });
        }
        var producer = new Thread(() =>
        {
            for (int i = 1; i <= items; i++)
            {
                mu.Lock();
                queue.Enqueue(i);
                cond.Signal();
                mu.Unlock();
            }
            mu.Lock();
            for (int c = 0; c < consumers; c++) queue.Enqueue(-1);
            cond.Broadcast();
            mu.Unlock();
        });
        producer.Start();
        await wg.WaitAsync().Within();
        Assert.Equal((long)items * (items + 1) / 2, sum);
    }

    [Fact]
    public async Task Broadcast_WakesAll_ThreadAndGoroutines()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        bool ready = false;
        int woke = 0;
        var wg = new WaitGroup();
        for (int i = 0; i < 10; i++)
            wg.Go(async () => { await mu.LockAsync(); while (!ready) await cond.WaitAsync(); woke++; mu.Unlock(); });
        var t = new Thread(() => { mu.Lock(); while (!ready) cond.Wait(); woke++; mu.Unlock(); });
        t.Start();
        await Go.Sleep(TimeSpan.FromMilliseconds(10));
        TestTimeout.Blocking(() => mu.Lock());
        ready = true;
        cond.Broadcast();
        mu.Unlock();
        await wg.WaitAsync().Within();
        await Task.Run(t.Join).Within();
        Assert.Equal(11, woke);
    }

    [Fact]
    public async Task WaitAsync_Cancelled_RelocksBeforeThrowing()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        await mu.LockAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(10));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cond.WaitAsync(cts.Token).AsTask().Within());
        Assert.False(mu.TryLock()); // held again
        mu.Unlock();
        Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(() => cond.Wait())); // not locked
    }

    [Fact]
    public async Task Signal_MeetsAWaiterClaimedByItsCanceller_WakesTheNextOne()
    {
        // A cancelled waiter takes no Signal with it: a Signal that finds it claimed (its Cancel not yet run) goes on
        // to the next waiter.
        var mu = new Mutex();
        var cond = new Cond(mu);
        using var cts = new CancellationTokenSource();
        await mu.LockAsync();
        var a = cond.WaitAsync(cts.Token).AsTask();
        await mu.LockAsync();
        var b = cond.WaitAsync().AsTask();
        using (Hooks.At(cond, SyncTestHook.Window.BeforeCancelLock, cond.Signal))
            cts.Cancel();
        // Both now relock the mutex, in either order; each holds it when its task completes.
        var first = await Task.WhenAny(a, b).Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        mu.Unlock();
        await (first == a ? b : a).ContinueWith(_ => { }).Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        mu.Unlock();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);
        await b; // woken by the Signal, not cancelled
        Assert.False(cond.IsQueueLockHeld);
        Assert.Equal(0, mu.State);
    }

    [Fact]
    public async Task Signal_WakesTheLongestWaiterFirst()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        var order = new List<int>();
        var waits = new List<Task>();
        for (int i = 0; i < 3; i++)
        {
            int id = i;
            await mu.LockAsync();
            waits.Add(cond.WaitAsync().AsTask().ContinueWith(_ => { order.Add(id); mu.Unlock(); }));
        }
        for (int i = 0; i < 3; i++)
        {
            cond.Signal();
            await waits[i].Within();
        }
        Assert.Equal(new[] { 0, 1, 2 }, order);
    }

    [Fact]
    public void Wait_WithoutTheLock_ThrowsAndQueuesNothing()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(() => cond.Wait()));
        Assert.Throws<SynchronizationLockException>(() => { _ = cond.WaitAsync(); });
        Assert.False(cond.IsQueueLockHeld);
        Assert.Equal(0, mu.State);
        cond.Signal(); // nobody queued
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public void Wait_OnAnRWMutexHeldOnlyForReading_IsRefusedBeforeItQueues()
    {
        // Cond over the RWMutex itself needs the write lock; a read lock does not count. The check fires in Cond
        // ("Cond.Wait ..."), before the waiter queues, not later in the RWMutex's own Unlock.
        var rw = new RWMutex();
        var cond = new Cond(rw);
        Assert.True(rw.TryRLock());
        var e = Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(() => cond.Wait()));
        Assert.StartsWith("Cond.Wait", e.Message);
        Assert.Equal(1, rw.State); // still read-locked, as before
        Assert.False(cond.IsQueueLockHeld);
        rw.RUnlock();
        Assert.True(rw.TryLock());
        rw.Unlock();
    }

    [Fact]
    public void Wait_OnTheReadLockerWithNoReadLockHeld_IsRefusedBeforeItQueues()
    {
        // The mirror case: Cond over RLocker() needs a read lock; the write lock, or nothing, does not count.
        var rw = new RWMutex();
        var cond = new Cond(rw.RLocker());
        var e = Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(() => cond.Wait()));
        Assert.StartsWith("Cond.Wait", e.Message);
        Assert.Equal(0, rw.State);
        Assert.True(rw.TryLock());
        e = Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(() => cond.Wait()));
        Assert.StartsWith("Cond.Wait", e.Message);
        Assert.Equal(RWMutex.Writer, rw.State); // still write-locked, as before
        Assert.False(cond.IsQueueLockHeld);
        rw.Unlock();
        Assert.True(rw.TryRLock());
        rw.RUnlock();
    }
    [Fact]
    public async Task Wait_WhoseUnlockThrowsAfterASignalTookIt_PassesTheSignalOn()
    {
        // A user's locker whose Unlock throws after the waiter queued: if a Signal claimed that waiter meanwhile, the
        // wake-up must not die with the failed wait; it goes on to the next waiter (Cond.Withdraw). Here A's Unlock
        // lets B queue behind A, signals (which takes A, first in line), then throws: B must be woken.
        var inner = new Mutex();
        Cond cond = null!;
        Task b = null!;
        int unlocks = 0;
        var locker = new HookLocker(inner, onUnlock: () =>
        {
            if (Interlocked.Increment(ref unlocks) != 1) return;
            b = Task.Factory.StartNew(() =>
            {
                inner.Lock();
                cond.Wait();
                inner.Unlock();
            }, TaskCreationOptions.LongRunning);
            var until = DateTime.UtcNow + TestTimeout.Default;
            while (cond.Waiters.Count < 2)
            {
                if (DateTime.UtcNow > until) throw new TimeoutException("B never queued behind A.");
                Thread.Yield();
            }
            cond.Signal();
            throw new InvalidOperationException("the locker's unlock failed");
        });
        cond = new Cond(locker);
        var e = Assert.Throws<InvalidOperationException>(() => TestTimeout.Blocking(() =>
        {
            inner.Lock();
            cond.Wait();
        }));
        Assert.Equal("the locker's unlock failed", e.Message);
        await b.Within(); // woken by the Signal that A's failed wait passed on
        Assert.Equal(0, cond.Waiters.Count);
        Assert.Equal(0, inner.State);
    }

    /// <summary>A locker over a Weft Mutex that runs a hook (after the real unlock) in every Unlock.</summary>
    private sealed class HookLocker(Mutex inner, Action onUnlock) : ILocker
    {
        public void Lock(CancellationToken cancellationToken = default) => inner.Lock(cancellationToken);

        public ValueTask LockAsync(CancellationToken cancellationToken = default) => inner.LockAsync(cancellationToken);

        public void Unlock()
        {
            inner.Unlock();
            onUnlock();
        }
    }
}
