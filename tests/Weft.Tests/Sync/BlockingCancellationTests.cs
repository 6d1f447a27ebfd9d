using Weft.Sync;
using Xunit;
using Mutex = Weft.Sync.Mutex;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Tests.Sync;

/// <summary>
/// The blocking (thread) forms with a CancellationToken: a cancelled wait throws, holds nothing, and leaves the
/// primitive as if the waiter had never come. Each blocking call runs on its own thread; outcomes, not timings, are
/// asserted (cancelling before or after the thread queued must give the same result).
/// </summary>
public class BlockingCancellationTests
{
    private static Task OnThread(Action a) => Task.Factory.StartNew(a, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static void SpinUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestTimeout.Default;
        while (!condition())
        {
            DebugAsserts.ThrowIfViolated();
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The blocked caller never queued.");
            Thread.Sleep(1);
        }
    }

    [Fact]
    public async Task Mutex_Lock_Cancelled_DoesNotHoldIt_AndTheNextWaiterGetsIt()
    {
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock());
        using var cts = new CancellationTokenSource();
        var cancelled = OnThread(() => mu.Lock(cts.Token));
        var next = OnThread(() => mu.Lock());
        await Task.Delay(20);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Within());
        mu.Unlock();
        await next.Within(); // the uncancelled thread behind it gets the mutex
        Assert.True(mu.IsLocked);
        mu.Unlock();
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public void Mutex_Lock_AlreadyCancelledToken_TakesAFreeMutex_ThrowsOnAHeldOne()
    {
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock(new CancellationToken(true))); // the token only ends a wait, as with LockAsync
        Assert.Throws<OperationCanceledException>(() => TestTimeout.Blocking(() => mu.Lock(new CancellationToken(true))));
        mu.Unlock();
        Assert.False(mu.IsLocked);
    }

    [Fact]
    public async Task Mutex_Lock_ManyCancellingThreads_MutualExclusionAndNoLostWakeUp()
    {
        var mu = new Mutex();
        long count = 0, acquired = 0;
        int inside = 0, overlaps = 0;
        var threads = Enumerable.Range(0, 6).Select(id => OnThread(() =>
        {
            for (int j = 0; j < 2000; j++)
            {
                using var cts = new CancellationTokenSource();
                if ((j + id) % 3 == 0) cts.CancelAfter(0);
                try { mu.Lock(cts.Token); }
                catch (OperationCanceledException) { continue; }
                if (Interlocked.Exchange(ref inside, 1) != 0) Interlocked.Increment(ref overlaps);
                count++;
                Volatile.Write(ref inside, 0);
                Interlocked.Increment(ref acquired);
                mu.Unlock();
            }
        })).ToArray();
        await Task.WhenAll(threads).Within();
        Assert.Equal(0, overlaps);
        Assert.Equal(Interlocked.Read(ref acquired), count);
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public async Task Semaphore_Acquire_CancelledHead_HoldsNothing_AndLetsTheNextOnesIn()
    {
        var sem = new Semaphore(2);
        TestTimeout.Blocking(() => sem.Acquire(1));
        using var cts = new CancellationTokenSource();
        var big = OnThread(() => sem.Acquire(2, cts.Token));
        // TryAcquire(1) would fit, so it fails only once the big request is queued (no barging past waiters).
        SpinUntil(() =>
        {
            if (!sem.TryAcquire(1)) return true;
            sem.Release(1);
            return false;
        });
        var small = OnThread(() => sem.Acquire(1));
        await Task.Delay(20);
        Assert.False(small.IsCompleted); // FIFO: behind the big request although a token is free
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => big.Within());
        await small.Within();
        Assert.Equal(0, sem.Available);
        sem.Release(2);
        Assert.Equal(2, sem.Available);
    }

    [Fact]
    public void Semaphore_Acquire_AlreadyCancelledToken_Throws_AndTakesNothing()
    {
        var sem = new Semaphore(1);
        Assert.Throws<OperationCanceledException>(() => TestTimeout.Blocking(() => sem.Acquire(1, new CancellationToken(true))));
        Assert.Equal(1, sem.Available);
    }

    [Fact]
    public async Task WaitGroup_Wait_Cancelled_CounterUntouched()
    {
        var wg = new WaitGroup();
        wg.Add(1);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OnThread(() => wg.Wait(cts.Token)).Within());
        Assert.Equal(1, wg.Count);
        var after = OnThread(() => wg.Wait());
        wg.Done();
        await after.Within();
        TestTimeout.Blocking(() => wg.Wait(new CancellationToken(true))); // zero: returns at once, whatever the token says
    }

    [Fact]
    public async Task RWMutex_Lock_CancelledWhileDraining_LetsTheReadersItHeldBackIn()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.RLock());
        using var cts = new CancellationTokenSource();
        var writer = OnThread(() => rw.Lock(cts.Token));
        SpinUntil(() =>
        {
            if (!rw.TryRLock()) return true; // the writer is pending: new readers wait
            rw.RUnlock();
            return false;
        });
        var reader = OnThread(() => rw.RLock());
        await Task.Delay(20);
        Assert.False(reader.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.Within());
        await reader.Within();
        rw.RUnlock();
        rw.RUnlock();
        Assert.True(rw.TryLock()); // no lock left behind by the cancelled writer
        rw.Unlock();
    }

    [Fact]
    public async Task RWMutex_RLock_CancelledBehindAWriter_HoldsNothing()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.Lock());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OnThread(() => rw.RLock(cts.Token)).Within());
        rw.Unlock();
        Assert.True(rw.TryLock());
        rw.Unlock();
    }

    [Fact]
    public async Task Cond_Wait_Cancelled_RelocksThenThrows_AndASignalStillReachesTheOtherWaiter()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        using var cts = new CancellationTokenSource();
        bool heldAfterCancel = false, ready = false;
        var cancelled = OnThread(() =>
        {
            mu.Lock();
            try { cond.Wait(cts.Token); }
            catch (OperationCanceledException) { heldAfterCancel = mu.IsLocked; mu.Unlock(); throw; }
        });
        var other = OnThread(() =>
        {
            mu.Lock();
            while (!ready) cond.Wait();
            mu.Unlock();
        });
        await Task.Delay(20);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Within());
        Assert.True(heldAfterCancel);
        TestTimeout.Blocking(() => mu.Lock());
        ready = true;
        cond.Signal(); // the cancelled waiter is gone from the queue: this signal is not lost on it
        mu.Unlock();
        await other.Within();
    }

    [Fact]
    public async Task ErrGroup_Wait_Cancelled_FunctionsKeepRunning_TokenNotCancelled()
    {
        var g = new ErrGroup();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        g.Go(() => gate.Task);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OnThread(() => g.Wait(cts.Token)).Within());
        Assert.False(g.Token.IsCancellationRequested);
        gate.SetResult();
        await OnThread(() => g.Wait()).Within();
        Assert.True(g.Token.IsCancellationRequested);
    }

    [Fact]
    public async Task ErrGroup_Go_CancelledWaitingForASlot_DoesNotStartTheFunction()
    {
        var g = new ErrGroup();
        g.SetLimit(1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        g.Go(() => gate.Task);
        bool ran = false;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OnThread(() => g.Go(() => { ran = true; return Task.CompletedTask; }, cts.Token)).Within());
        gate.SetResult();
        await g.WaitAsync().Within();
        Assert.False(ran);
    }

    [Fact]
    public async Task SingleFlight_Do_CancelledWaiter_TheFlightGoesOnForTheOthers()
    {
        var flights = new SingleFlight<string, int>();
        using var started = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        int runs = 0;
        var leader = OnThread(() => Assert.Equal(42, flights.Do("k", () => { Interlocked.Increment(ref runs); started.Set(); gate.Wait(); return 42; })));
        started.Wait(TestTimeout.Default);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OnThread(() => flights.Do("k", () => { Interlocked.Increment(ref runs); return -1; }, cts.Token)).Within());
        gate.Set();
        await leader.Within();
        Assert.Equal(1, runs); // the cancelled caller joined the flight and never ran its own f
        Assert.Throws<OperationCanceledException>(() => flights.Do("k", () => 1, new CancellationToken(true)));
    }

    [Fact]
    public async Task Once_Do_CancelledWhileAnotherRuns_ThenDoneOnce()
    {
        var once = new Once();
        using var started = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        int runs = 0;
        var first = OnThread(() => once.Do(() => { runs++; started.Set(); gate.Wait(); }));
        started.Wait(TestTimeout.Default);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OnThread(() => once.Do(() => runs++, cts.Token)).Within());
        gate.Set();
        await first.Within();
        once.Do(() => runs++);
        Assert.Equal(1, runs);
        Assert.True(once.IsDone);
    }
}
