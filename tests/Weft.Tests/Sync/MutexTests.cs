using System.Runtime.CompilerServices;
using Weft.Runtime;
using Weft.Sync;
using Weft.Testing;
using Weft.Tests.Runtime;
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
        // A broken mutex can make an Unlock throw (not locked) or a Debug invariant fail inside a worker: caught and
        // reported here, so the test fails by that assertion at once instead of crashing the test host (a thread's
        // unhandled exception) or waiting out its bound for workers that can no longer finish.
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var wg = new WaitGroup();
        for (int i = 0; i < goroutines; i++)
        {
            bool useAsync = i % 2 == 0;
            wg.Go(async () =>
            {
                try
                {
                    for (int j = 0; j < iterations; j++)
                    {
                        if (useAsync) await mu.LockAsync(); else mu.Lock();
                        Critical();
                        mu.Unlock();
                        if (j % 1000 == 0) await Go.Yield();
                    }
                }
                catch (Exception e) { failed.TrySetResult(e); }
            });
        }
        var ts = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            try
            {
                for (int j = 0; j < iterations; j++)
                {
                    if (!mu.TryLock()) mu.Lock();
                    Critical();
                    mu.Unlock();
                }
            }
            catch (Exception e) { failed.TrySetResult(e); }
        })).ToList();
        ts.ForEach(t => t.Start());
        var all = Task.WhenAll(wg.WaitAsync().AsTask(), Task.Run(() => ts.ForEach(t => t.Join())));
        if (await Task.WhenAny(all, failed.Task).Within() == failed.Task) Assert.Fail($"A worker failed: {await failed.Task}");
        await all.Within();
        Assert.Equal(0, overlaps);
        Assert.Equal((goroutines + threads) * (long)iterations, count);
        Assert.False(mu.IsLocked);
    }

    [Fact]
    public void UnlockOfUnlocked_Throws()
    {
        var mu = new Mutex();
        Assert.Throws<SynchronizationLockException>(mu.Unlock);
        TestTimeout.Blocking(() => mu.Lock());
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

    // Go's TestMutexFairness (a waiter gets the mutex from a goroutine re-locking in a tight loop) is GoPort.MutexTest.TestMutexFairness.

    [Fact]
    public async Task LockAsync_Cancelled_ThrowsAndLeavesMutexUsable()
    {
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock());
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
        TestTimeout.Blocking(() => mu.Lock());
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

/// <summary>
/// Mutex windows forced with <see cref="SyncTestHook"/>, and its exact states afterwards: each would otherwise need a
/// lucky interleaving (issue 13's mutation survivors).
/// </summary>
public class MutexWindowTests
{
    private const int Locked = Mutex.Locked, Woken = Mutex.Woken, Starving = Mutex.Starving, HasWaiters = Mutex.HasWaiters;

    [Fact]
    public async Task Lock_TokenFiresWhileAWokenWaiterQueuesAgain_NoDeadNodeIsLeftInTheQueue()
    {
        // A blocking waiter is woken, loses the mutex to a newcomer and queues again; its token (armed since its first
        // wait) fires just before it takes the queue lock. Regression: the node was marked Waiting before that, so the
        // cancellation claimed a node in no queue, the node was queued anyway, and the thread threw with its node
        // still linked into the mutex's queue (and, reused by its next wait, linked into a second one).
        for (int attempt = 0; ; attempt++)
        {
            var mu = new Mutex();
            using var cts = new CancellationTokenSource();
            int rounds = 0;
            using var hook = Hooks.At(mu, SyncTestHook.Window.BeforeQueueLock, () =>
            {
                if (++rounds == 2) cts.Cancel();
            });
            TestTimeout.Blocking(() => mu.Lock());
            bool threw = false;
            var t = Hooks.OnThread(() =>
            {
                try { mu.Lock(cts.Token); mu.Unlock(); }
                catch (OperationCanceledException) { threw = true; }
            });
            Hooks.SpinUntil(() => (mu.State & HasWaiters) != 0, "the thread queued");
            mu.Unlock(); // wakes it...
            // ...and takes the mutex back before it spins (almost always: it is still waking up). On this thread, at
            // once: a bounded blocking call would hop to another thread first and lose the race every time.
            Hooks.SpinUntil(mu.TryLock, "the test took the mutex back");
            await t.Within();
            if (rounds < 2)
            {
                // It won the mutex in its spin: the window was not reached. Try again.
                Assert.True(attempt < 100, "The woken thread always won the race; the window was never reached.");
                mu.Unlock();
                continue;
            }
            Assert.True(threw);
            // Held by this test, nobody queued, nobody woken (Starving may be set: it waited over 1 ms of real time).
            Assert.Equal(Locked, mu.State & ~Starving);
            Assert.False(mu.IsQueueLockHeld);
            mu.Unlock();
            Assert.Equal(0, mu.State);
            // The thread's waiter is clean: a fresh blocking wait on it parks until it is really woken.
            var mu2 = new Mutex();
            TestTimeout.Blocking(() => mu2.Lock());
            bool early = true;
            var t2 = Hooks.OnThread(() => { mu2.Lock(); early = mu2.State != Locked; mu2.Unlock(); });
            Hooks.SpinUntil(() => (mu2.State & HasWaiters) != 0, "the second thread queued");
            mu2.Unlock();
            await t2.Within();
            Assert.False(early);
            return;
        }
    }

    [Fact]
    public async Task LockAsync_Cancelled_UnlinksTheWaiter_AtOnce()
    {
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock());
        using var cts = new CancellationTokenSource();
        var a = mu.LockAsync(cts.Token).AsTask();
        Assert.Equal(Locked | HasWaiters, mu.State);
        cts.Cancel(); // the registration runs Cancel inline
        Assert.Equal(Locked, mu.State); // unlinked: no waiter left
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.Within());
        mu.Unlock();
        Assert.Equal(0, mu.State);
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public async Task Unlock_MeetsTheOnlyWaiterClaimedByItsCanceller_LeavesTheMutexFree()
    {
        // The token fires; before the canceller unlinks the waiter, an Unlock looks for someone to wake. It must skip
        // the claimed node, and with nobody else to wake, clear Woken and HasWaiters: the mutex is simply free.
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock());
        using var cts = new CancellationTokenSource();
        var a = mu.LockAsync(cts.Token).AsTask();
        using (Hooks.At(mu, SyncTestHook.Window.BeforeCancelLock, mu.Unlock))
            cts.Cancel();
        Assert.Equal(0, mu.State);
        Assert.False(mu.IsQueueLockHeld);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.Within());
        Assert.True(mu.TryLock());
        mu.Unlock();
    }

    [Fact]
    public async Task Unlock_MeetsAWaiterClaimedByItsCanceller_WakesTheOneBehindIt()
    {
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock());
        using var cts = new CancellationTokenSource();
        var a = mu.LockAsync(cts.Token).AsTask();
        var b = mu.LockAsync().AsTask();
        using (Hooks.At(mu, SyncTestHook.Window.BeforeCancelLock, mu.Unlock))
            cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.Within());
        await b.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5))); // woken past the cancelled node
        Assert.Equal(Locked, mu.State);
        mu.Unlock();
        Assert.Equal(0, mu.State);
    }

    [Fact]
    public async Task CancelledSpinner_HoldingWoken_WakesTheNextWaiterIfTheMutexWasFreedMeanwhile()
    {
        // A newcomer spins and sets Woken (so Unlock wakes nobody); its token is cancelled, and the mutex is unlocked
        // just before it gives Woken up. It must wake the queued waiter itself, or that waiter sleeps with the mutex free.
        if (Environment.ProcessorCount == 1) return; // no spinning on one core, so no Woken spinner: nothing to test
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock());
        var w = mu.LockAsync().AsTask(); // queued, uncancellable
        Assert.Equal(Locked | HasWaiters, mu.State);
        ValueTask spinner;
        using (Hooks.At(mu, SyncTestHook.Window.AbandonWoken, () =>
        {
            Assert.Equal(Locked | Woken | HasWaiters, mu.State);
            mu.Unlock(); // sees Woken: wakes nobody
        }))
        {
            spinner = mu.LockAsync(new CancellationToken(true));
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => spinner.AsTask().Within());
        // The waiter was taken off the queue and woken (it may have run and taken the mutex already): never the
        // state where it sleeps with the mutex free.
        Assert.NotEqual(0, mu.State & (Woken | Locked));
        Assert.Equal(0, mu.State & HasWaiters);
        await w.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(5)));
        Assert.Equal(Locked, mu.State);
        mu.Unlock();
    }

    // ---- Woken belongs to one waiter at a time ------------------------------------------------------------------
    // Each test below holds a woken waiter W in a HeldContext: the Unlock that woke it set Woken, and W has not run,
    // so the state a real woken waiter is in for a few microseconds lasts as long as the test needs. Nobody but W may
    // clear that Woken, and while it is set no Unlock wakes anybody else (no herd).

    /// <summary>The test holds the mutex; W is queued behind it, under <paramref name="ctx"/>, and takes the mutex (only) when run.</summary>
    private static (Mutex Mu, Task W) HeldWithQueuedWaiter(HeldContext ctx)
    {
        var mu = new Mutex();
        Assert.True(mu.TryLock());
        var w = ctx.Start(async () => await mu.LockAsync());
        Assert.Equal(Locked | HasWaiters, mu.State);
        return (mu, w);
    }

    /// <summary>Runs the woken W, which takes the mutex in its spin, then unlocks it for good.</summary>
    private static async Task LetWTakeIt(Mutex mu, HeldContext ctx, Task w, int othersQueued = 0)
    {
        Assert.Equal(1, ctx.Pending);
        ctx.RunAll();
        await w.Within();
        Assert.Equal(Locked | (othersQueued > 0 ? HasWaiters : 0), mu.State);
        if (othersQueued == 0)
        {
            mu.Unlock();
            Assert.Equal(0, mu.State);
        }
    }

    /// <summary>A goroutine that locks <paramref name="mu"/> once, then unlocks it; <paramref name="context"/> gets its context (to post to) first.</summary>
    private static Task LockOnceInAGoroutine(Mutex mu, StrongBox<SynchronizationContext?>? context = null) =>
        ParkProtocolTests.RunGoroutine(async () =>
        {
            if (context is not null) Volatile.Write(ref context.Value, SynchronizationContext.Current);
            await mu.LockAsync();
            mu.Unlock();
        });

    [Fact]
    public async Task Lock_CancelledSpinnerHoldingWoken_WakesTheNextWaiterIfTheMutexWasFreedMeanwhile()
    {
        // The blocking form of CancelledSpinner_HoldingWoken_...: the spinner set Woken (so the Unlock in the window
        // woke nobody), then gives it up, cancelled, and must wake W itself; and it must not go on to take the mutex.
        if (Environment.ProcessorCount == 1) return; // no spinning on one core
        var ctx = new HeldContext();
        var (mu, w) = HeldWithQueuedWaiter(ctx);
        int atAbandon = -1;
        using (Hooks.At(mu, SyncTestHook.Window.AbandonWoken, () =>
        {
            atAbandon = mu.State;
            mu.Unlock(); // sees Woken: wakes nobody
        }))
        {
            Assert.ThrowsAny<OperationCanceledException>(() => mu.Lock(new CancellationToken(true)));
        }
        Assert.Equal(Locked | Woken | HasWaiters, atAbandon);
        // Free, W taken off the queue and woken, holding Woken: the turn was passed on, exactly once.
        Assert.Equal(Woken, mu.State);
        Assert.Equal((0, false), mu.Waiters);
        await LetWTakeIt(mu, ctx, w);
    }

    [Fact]
    public async Task CancelledSpinnerHoldingWoken_WhileTheMutexIsStillHeld_WakesNobody()
    {
        if (Environment.ProcessorCount == 1) return;
        var ctx = new HeldContext();
        var (mu, w) = HeldWithQueuedWaiter(ctx);
        int atAbandon = -1;
        ValueTask spinner;
        using (Hooks.At(mu, SyncTestHook.Window.AbandonWoken, () => atAbandon = mu.State))
            spinner = mu.LockAsync(new CancellationToken(true));
        Assert.True(spinner.IsCanceled);
        Assert.Equal(Locked | Woken | HasWaiters, atAbandon);
        // Woken given up; W stays queued: waking it while the mutex is held would only make it queue again.
        Assert.Equal(Locked | HasWaiters, mu.State);
        Assert.Equal((1, false), mu.Waiters);
        Assert.Equal(0, ctx.Pending);
        mu.Unlock();
        Assert.Equal(Woken, mu.State);
        await LetWTakeIt(mu, ctx, w);
    }

    [Fact]
    public async Task ACancelledNewcomer_WhileAnotherWaiterIsWoken_LeavesItsWokenAlone()
    {
        // The newcomer never set Woken (it was set already), so it has nothing to give up when its token stops it.
        if (Environment.ProcessorCount == 1) return;
        var ctx = new HeldContext();
        var (mu, w) = HeldWithQueuedWaiter(ctx);
        mu.Unlock(); // W is woken and holds Woken
        Assert.True(mu.TryLock());
        Assert.Equal(Locked | Woken, mu.State);
        bool abandoned = false;
        using (Hooks.At(mu, SyncTestHook.Window.AbandonWoken, () => abandoned = true))
        {
            Assert.ThrowsAny<OperationCanceledException>(() => mu.Lock(new CancellationToken(true)));
            Assert.True(mu.LockAsync(new CancellationToken(true)).IsCanceled);
        }
        Assert.False(abandoned);
        Assert.Equal(Locked | Woken, mu.State);
        mu.Unlock();
        Assert.Equal(Woken, mu.State); // still W's: this Unlock woke nobody
        await LetWTakeIt(mu, ctx, w);
    }

    [Fact]
    public async Task ANewcomer_FindingTheMutexFreeWhileAnotherWaiterIsWoken_TakesItInItsSpin_AndLeavesTheWokenBit()
    {
        // Barging: the newcomer runs already, so it takes the free mutex in its spin, without the queue lock; W, woken,
        // keeps Woken, and will find the mutex taken and queue again.
        if (Environment.ProcessorCount == 1) return;
        var ctx = new HeldContext();
        var (mu, w) = HeldWithQueuedWaiter(ctx);
        mu.Unlock();
        Assert.Equal(Woken, mu.State);
        int queueLocks = 0;
        using (Hooks.At(mu, SyncTestHook.Window.BeforeQueueLock, () => queueLocks++))
        {
            Assert.True(mu.LockAsync().IsCompletedSuccessfully);
            Assert.Equal(Locked | Woken, mu.State);
            mu.Unlock();
            Assert.Equal(Woken, mu.State);
            TestTimeout.Blocking(() => mu.Lock());
            Assert.Equal(Locked | Woken, mu.State);
        }
        Assert.Equal(0, queueLocks);
        mu.Unlock();
        Assert.Equal(Woken, mu.State);
        await LetWTakeIt(mu, ctx, w);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a goroutine's deferred wait: its commit queues it
    public async Task ANewcomerQueuing_WhileAnotherWaiterIsWoken_LeavesItsWokenBit_SoTheNextUnlockWakesNobodyElse(bool goroutine)
    {
        // A burst of unlocks must not wake a herd: while W is woken, the newcomer queues without touching Woken, and
        // the next Unlock wakes nobody.
        var ctx = new HeldContext();
        var (mu, w) = HeldWithQueuedWaiter(ctx);
        mu.Unlock();
        Assert.True(mu.TryLock());
        var ctx2 = new HeldContext();
        var n = goroutine
            ? LockOnceInAGoroutine(mu)
            : ctx2.Start(async () => { await mu.LockAsync(); mu.Unlock(); });
        MutexParkTests.WaitUntil(() => (mu.State & HasWaiters) != 0, "the newcomer queued");
        Assert.Equal(Locked | Woken | HasWaiters, mu.State);
        Assert.Equal((1, goroutine), mu.Waiters);
        mu.Unlock();
        Assert.Equal(Woken | HasWaiters, mu.State); // W is still the one woken: the newcomer stays queued
        Assert.Equal((1, goroutine), mu.Waiters);
        Assert.Equal(0, ctx2.Pending);
        await LetWTakeIt(mu, ctx, w, othersQueued: 1);
        mu.Unlock(); // now the newcomer is woken
        ctx2.RunAll();
        await n.Within();
        Assert.Equal(0, mu.State);
    }

    [Fact]
    public async Task APostArrivingDuringTheCommit_RunsBeforeTheWaitIsQueued()
    {
        // The post lands after the goroutine is published as parked and before its commit takes the queue lock: the
        // poster finds nothing committed to claim back, so the commit must see the mail and leave the wait unqueued
        // (the mutex is held), or the post would sit in the mailbox of a goroutine parked until the next Unlock.
        var mu = new Mutex();
        Assert.True(mu.TryLock());
        var context = new StrongBox<SynchronizationContext?>();
        int commits = 0, posts = 0, queuedAtPost = -1;
        using var hook = Hooks.At(mu, SyncTestHook.Window.BeforeQueueLock, () =>
        {
            if (commits++ > 0) return;
            Volatile.Read(ref context.Value)!.Post(_ =>
            {
                queuedAtPost = mu.Waiters.Count;
                Interlocked.Increment(ref posts);
            }, null);
        });
        var g = LockOnceInAGoroutine(mu, context);
        MutexParkTests.WaitUntil(() => (mu.State & HasWaiters) != 0, "the wait is queued");
        Assert.Equal(1, Volatile.Read(ref posts)); // ran before the wait was queued...
        Assert.Equal(0, queuedAtPost);
        Assert.Equal(2, commits);                  // ...which the commit after the post did
        Assert.Equal((1, true), mu.Waiters);
        mu.Unlock();
        await g.Within();
        Assert.Equal(0, mu.State);
    }

    [Fact]
    public async Task AWaitClaimedBackByAPost_LosesItsPlace_AndIsQueuedAgainAtTheBack()
    {
        // A claimed-back first wait is committed again as a first wait (at the back), not as a woken waiter that lost
        // the race (at the front): W2, queued behind it meanwhile, is now ahead.
        var mu = new Mutex();
        Assert.True(mu.TryLock());
        var context = new StrongBox<SynchronizationContext?>();
        int posts = 0;
        var g = LockOnceInAGoroutine(mu, context);
        MutexParkTests.WaitUntil(() => mu.Waiters == (1, true), "the goroutine's wait is queued");
        var ctx = new HeldContext();
        var w2 = ctx.Start(async () => await mu.LockAsync());
        Assert.Equal((2, true), mu.Waiters);
        Volatile.Read(ref context.Value)!.Post(_ => Interlocked.Increment(ref posts), null);
        MutexParkTests.WaitUntil(() => Volatile.Read(ref posts) == 1 && mu.Waiters.Count == 2, "the post ran and the wait was queued again");
        Assert.Equal((2, false), mu.Waiters); // W2 first
        Assert.Equal(Locked | HasWaiters, mu.State);
        mu.Unlock(); // wakes W2
        Assert.Equal(Woken | HasWaiters, mu.State);
        await LetWTakeIt(mu, ctx, w2, othersQueued: 1);
        mu.Unlock(); // wakes the goroutine, which locks and unlocks
        await g.Within();
        Assert.Equal(0, mu.State);
    }

    private static TimeSpan Us(int microseconds) => TimeSpan.FromMicroseconds(microseconds);

    [Theory]
    [InlineData(0)]
    [InlineData(10_000)] // the same, starting 10 ms into the bubble: the wait is measured from when it began, not from time 0
    public async Task Starvation_AWaiterThatWaitedExactly1ms_DoesNotStarve_OneThatWaitedMore_Does(int startUs)
    {
        // The hog holds 0.5 ms at a time and re-locks at once (barging past the woken waiter). The waiter queues at
        // 0; it loses at 0.5 ms and at 1.0 ms (waited exactly 1 ms: not more than 1 ms, so still normal mode), and at
        // 1.5 ms (waited 1.5 ms: starvation). The hog's next Unlock, at 2.0 ms, hands it the mutex. (Times relative
        // to startUs.)
        await Bubble.Explore(async b =>
        {
            var mu = new Mutex();
            var log = new List<(string who, TimeSpan at, int state)>();
            var beforeUnlock = new List<int>();
            bool stop = false;
            var wg = new WaitGroup();
            var start = Bubble.Epoch + Us(startUs);
            wg.Go(async () =>
            {
                await Go.Sleep(Us(startUs));
                while (!stop)
                {
                    await mu.LockAsync();
                    log.Add(("hog", b.Now - start, mu.State));
                    await Go.Sleep(Us(500));
                    beforeUnlock.Add(mu.State);
                    mu.Unlock();
                }
            });
            wg.Go(async () =>
            {
                await Go.Sleep(Us(startUs));
                while (log.Count == 0) await Go.Yield(); // queue behind the hog's first Lock, still at time 0
                await mu.LockAsync();
                log.Add(("waiter", b.Now - start, mu.State));
                stop = true;
                mu.Unlock();
            });
            await wg.WaitAsync();
            Assert.Equal(new[] { ("hog", Us(0)), ("hog", Us(500)), ("hog", Us(1000)), ("hog", Us(1500)), ("waiter", Us(2000)) },
                log.Take(5).Select(e => (e.who, e.at)));
            // Before the hog's Unlocks at 0.5, 1.0, 1.5 and 2.0 ms: the waiter queued again at 0.5 and at 1.0 ms (having
            // waited exactly 1 ms: normal mode), then at 1.5 ms, having waited more: starving.
            Assert.Equal(new[] { Locked | HasWaiters, Locked | HasWaiters, Locked | HasWaiters, Locked | Starving | HasWaiters },
                beforeUnlock.Take(4));
            Assert.Equal(0, log[4].state & Starving); // handed to the last waiter: starvation mode is over
        }, seeds: 5).Within();
    }

    [Fact]
    public void AnUncancellableLockAsyncThatWaits_GivesItsWaiterBackToThePool_AndAllocatesNothingInSteadyState()
    {
        // LockAsync's remarks: an uncancellable wait allocates nothing in steady state, because its waiter goes back
        // to the thread's pool when the operation ends. Each wait here leaves the spin for the slow path and finds the
        // mutex free at the queue lock (the hook frees it just before), all on this thread, so the pool it rents from
        // and returns to is this thread's, and what it allocates is measured exactly.
        var mu = new Mutex();
        int slowPaths = 0;
        using var hook = Hooks.At(mu, SyncTestHook.Window.BeforeQueueLock, () =>
        {
            slowPaths++;
            mu.Unlock();
        });
        while (NodePool<Waiter>.TryTake() is not null) { } // this thread's pool, emptied
        Assert.True(mu.TryLock());
        Assert.True(mu.LockAsync().IsCompletedSuccessfully);
        mu.Unlock();
        Assert.Equal(1, slowPaths);
        var pooled = NodePool<Waiter>.TryTake();
        Assert.NotNull(pooled); // the wait's waiter, given back
        NodePool<Waiter>.Return(pooled, 256);
        long before = 0;
        for (int i = 0; i < 200; i++)
        {
            if (i == 100) before = GC.GetAllocatedBytesForCurrentThread(); // after a warm-up
            Assert.True(mu.TryLock());
            Assert.True(mu.LockAsync().IsCompletedSuccessfully);
            mu.Unlock();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(201, slowPaths);
#if !DEBUG // a Debug build compiles the async slow path's state machine as a class: one allocation per call
        Assert.Equal(0, allocated);
#endif
    }

    [Fact]
    public async Task AWaitClaimedBackByAPost_KeepsItsFirstWaitTime_ForTheStarvationThreshold()
    {
        // As in Starvation_AWaiterThatWaitedExactly1ms_...: the hog holds 0.5 ms at a time and barges back in; the
        // waiter queues at 0, loses at 0.5 and 1.0 ms and starves at 1.5 ms. A post at 0.7 ms claims its wait back and
        // its step commits it again: the wait still counts from 0, so the hog's Unlock at 2.0 ms hands it the mutex.
        await Bubble.Explore(async b =>
        {
            var mu = new Mutex();
            var log = new List<(string who, TimeSpan at)>();
            var beforeUnlock = new List<int>();
            SynchronizationContext? waiterContext = null;
            bool stop = false;
            int posts = 0;
            var wg = new WaitGroup();
            wg.Go(async () =>
            {
                while (!stop)
                {
                    await mu.LockAsync();
                    log.Add(("hog", b.Now - Bubble.Epoch));
                    await Go.Sleep(Us(500));
                    beforeUnlock.Add(mu.State);
                    mu.Unlock();
                }
            });
            wg.Go(async () =>
            {
                waiterContext = SynchronizationContext.Current;
                while (log.Count == 0) await Go.Yield();
                await mu.LockAsync();
                log.Add(("waiter", b.Now - Bubble.Epoch));
                stop = true;
                mu.Unlock();
            });
            wg.Go(async () =>
            {
                await Go.Sleep(Us(700));
                Assert.Equal((1, true), mu.Waiters); // the waiter's wait, committed
                waiterContext!.Post(_ => posts++, null);
            });
            await wg.WaitAsync();
            Assert.Equal(1, posts);
            Assert.Equal(new[] { ("hog", Us(0)), ("hog", Us(500)), ("hog", Us(1000)), ("hog", Us(1500)), ("waiter", Us(2000)) }, log.Take(5));
            Assert.Equal(Locked | Starving | HasWaiters, beforeUnlock[3]);
        }, seeds: 5).Within();
    }

    [Fact]
    public async Task Starving_EveryWaiterCancelled_TheNextUnlockLeavesTheMutexFree()
    {
        // The waiter starves (it lost three times, waiting 1.5 ms), then gives up. The hog's Unlock finds the mutex
        // starving with nobody to hand it to: it must clear Locked and Starving, or nobody could ever lock it again.
        await Bubble.Explore(async b =>
        {
            var mu = new Mutex();
            using var cts = new CancellationTokenSource();
            int beforeUnlock = -1, afterUnlock = -1;
            bool cancelled = false, hogLocked = false;
            var wg = new WaitGroup();
            wg.Go(async () =>
            {
                while (true)
                {
                    await mu.LockAsync();
                    hogLocked = true;
                    await Go.Sleep(Us(500));
                    if ((mu.State & Starving) != 0)
                    {
                        cts.Cancel(); // unlinks the waiter at once: the queue is empty, Starving stays
                        beforeUnlock = mu.State;
                        mu.Unlock();
                        afterUnlock = mu.State;
                        return;
                    }
                    mu.Unlock();
                }
            });
            wg.Go(async () =>
            {
                while (!hogLocked) await Go.Yield(); // queue behind the hog's first Lock
                try { await mu.LockAsync(cts.Token); mu.Unlock(); }
                catch (OperationCanceledException) { cancelled = true; }
            });
            await wg.WaitAsync();
            Assert.True(cancelled);
            Assert.Equal(Locked | Starving, beforeUnlock);
            Assert.Equal(0, afterUnlock);
            Assert.False(mu.IsQueueLockHeld);
            Assert.True(mu.TryLock());
            mu.Unlock();
        }, seeds: 5).Within();
    }

    [Theory]
    [InlineData(3300, false)] // waited 0.9 ms when handed the mutex: normal mode again, though the hog still waits
    [InlineData(3200, true)]  // waited exactly 1 ms: not less than 1 ms, so the mutex stays starving
    public async Task Starvation_EndsWhenTheMutexIsHandedToAWaiterThatWaitedLessThan1ms(int w2ArrivesUs, bool stillStarving)
    {
        // The hog holds 2 ms at a time. W1 queues at 0.1 ms, loses at 2 ms having waited 1.9 ms: starvation mode.
        // W2 queues at w2ArrivesUs. At 4 ms the hog hands over to W1 and, a newcomer now, queues behind W2. W1 holds
        // 0.2 ms; at 4.2 ms W2 is handed the mutex with the hog still queued behind it.
        await Bubble.Explore(async b =>
        {
            var mu = new Mutex();
            int w2State = -1, afterW2 = -1;
            bool hogAgain = false;
            var wg = new WaitGroup();
            wg.Go(async () =>
            {
                await mu.LockAsync();
                await Go.Sleep(Us(2000));
                mu.Unlock();
                await mu.LockAsync();
                await Go.Sleep(Us(2000));
                mu.Unlock();
                await mu.LockAsync();
                hogAgain = true;
                mu.Unlock();
            });
            wg.Go(async () =>
            {
                await Go.Sleep(Us(100));
                await mu.LockAsync();
                Assert.Equal(Us(4000), b.Now - Bubble.Epoch);
                await Go.Sleep(Us(200));
                mu.Unlock();
            });
            wg.Go(async () =>
            {
                await Go.Sleep(Us(w2ArrivesUs));
                await mu.LockAsync();
                Assert.Equal(Us(4200), b.Now - Bubble.Epoch);
                w2State = mu.State;
                await Go.Sleep(Us(100));
                mu.Unlock();
                afterW2 = mu.State;
            });
            await wg.WaitAsync();
            Assert.True(hogAgain);
            Assert.Equal(Locked | HasWaiters | (stillStarving ? Starving : 0), w2State);
            // W2's Unlock: starving, it hands the mutex to the hog (Locked stays set); normal, it wakes the hog to compete.
            Assert.Equal(stillStarving ? Locked : Woken, afterW2);
        }, seeds: 5).Within();
    }
}
