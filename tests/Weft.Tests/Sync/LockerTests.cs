using Weft.Sync;
using Xunit;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Tests.Sync;

public class LockerTests
{
    [Fact]
    public async Task MutexAndRWMutex_AreLockers()
    {
        ILocker[] lockers = [new Mutex(), new RWMutex()];
        foreach (var l in lockers)
        {
            TestTimeout.Blocking(() => l.Lock());
            l.Unlock();
            await l.LockAsync().Within();
            l.Unlock();
            Assert.Throws<OperationCanceledException>(() => TestTimeout.Blocking(() =>
            {
                l.Lock();
                try { l.Lock(new CancellationToken(true)); }
                finally { l.Unlock(); }
            }));
            Assert.Throws<SynchronizationLockException>(l.Unlock);
        }
    }

    [Fact]
    public async Task RLocker_LocksTheReadSide_SameInstanceEachTime()
    {
        var rw = new RWMutex();
        var r = rw.RLocker();
        Assert.Same(r, rw.RLocker());
        TestTimeout.Blocking(() => r.Lock());
        await r.LockAsync().Within(); // readers share
        Assert.Equal(2, rw.State);
        Assert.False(rw.TryLock());
        r.Unlock();
        r.Unlock();
        Assert.Equal(0, rw.State);
        Assert.Throws<SynchronizationLockException>(r.Unlock);
        TestTimeout.Blocking(() => rw.Lock());
        Assert.Throws<OperationCanceledException>(() => TestTimeout.Blocking(() => r.Lock(new CancellationToken(true))));
        rw.Unlock();
        Assert.Equal(0, rw.State);
    }

    [Fact]
    public async Task Cond_OnTheReadSide_WaitersHoldReadLocksAgain_AllAtOnce()
    {
        var rw = new RWMutex();
        var cond = new Cond(rw.RLocker());
        bool ready = false;
        int readersAfterWake = 0;
        var woken = new List<Task>();
        for (int i = 0; i < 3; i++)
        {
            await rw.RLockAsync();
            woken.Add(Task.Run(async () =>
            {
                while (!Volatile.Read(ref ready)) await cond.WaitAsync();
                Interlocked.Increment(ref readersAfterWake);
            }));
        }
        Hooks.SpinUntil(() => rw.State == 0, "every reader waits on the condition (having released its read lock)");
        await rw.LockAsync(); // a writer changes the condition
        Volatile.Write(ref ready, true);
        cond.Broadcast();
        rw.Unlock();
        await Task.WhenAll(woken).Within();
        Assert.Equal(3, readersAfterWake);
        Assert.Equal(3, rw.State); // each holds its read lock again; they share it
        for (int i = 0; i < 3; i++) rw.RUnlock();
        Assert.Equal(0, rw.State);
    }

    [Fact]
    public async Task Cond_OnTheWriteSideOfAnRWMutex()
    {
        var rw = new RWMutex();
        var cond = new Cond(rw);
        Assert.Same(rw, cond.L);
        Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(() => cond.Wait()));
        await rw.LockAsync();
        var wait = cond.WaitAsync().AsTask();
        Assert.Equal(0, rw.State); // Wait released the write lock
        cond.Signal();
        await wait.Within();
        Assert.Equal(RWMutex.Writer, rw.State);
        rw.Unlock();
    }

    private sealed class StrictLocker : ILocker
    {
        public readonly Mutex Inner = new();
        public Action? BeforeUnlock;

        public void Lock(CancellationToken cancellationToken = default) => Inner.Lock(cancellationToken);
        public ValueTask LockAsync(CancellationToken cancellationToken = default) => Inner.LockAsync(cancellationToken);

        public void Unlock()
        {
            BeforeUnlock?.Invoke();
            if (!Inner.IsLocked) throw new SynchronizationLockException("StrictLocker is not locked.");
            Inner.Unlock();
        }
    }

    [Fact]
    public async Task Cond_OnALockerOfTheUsersOwn_WaitWithoutIt_ThrowsFromUnlock_AndLeavesNothingQueued()
    {
        var l = new StrictLocker();
        var cond = new Cond(l);
        Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(() => cond.Wait()));
        Assert.Throws<SynchronizationLockException>(() => { _ = cond.WaitAsync(); });
        Assert.False(cond.IsQueueLockHeld);

        // A Signal that claims the misusing waiter before its Unlock throws: the wake-up is absorbed on its thread,
        // and the queue and the thread's waiter stay clean for the next, correct, wait.
        var t = Hooks.OnThread(() =>
        {
            l.BeforeUnlock = () => { l.BeforeUnlock = null; cond.Signal(); };
            Assert.Throws<SynchronizationLockException>(() => cond.Wait()); // on this thread: its waiter is reused below
            l.Lock();
            cond.Wait(); // its node was not left queued or half-claimed (Debug asserts it), so it waits like any other
            l.Unlock();
        });
        var until = DateTime.UtcNow + TestTimeout.Default;
        while (!t.IsCompleted && DateTime.UtcNow < until)
        {
            cond.Signal();
            await Task.WhenAny(t, Task.Delay(1));
        } // a Signal before the correct wait queued is lost, as in Go
        await t.Within();
        Assert.False(cond.IsQueueLockHeld);
        Assert.Equal(0, l.Inner.State);
    }
}
