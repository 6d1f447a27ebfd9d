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
            else await Task.Run(() => wg.Wait()).Within();
            Assert.Equal(10, Volatile.Read(ref done));
            Assert.Equal(0, wg.Count);
        }
    }

    [Fact]
    public async Task NegativeCounter_Throws_AndLeavesCounterUnchanged()
    {
        var wg = new WaitGroup();
        Assert.Throws<InvalidOperationException>(wg.Done);
        Assert.Equal(0, wg.Count);
        wg.Add(1);
        Assert.Throws<InvalidOperationException>(() => wg.Add(-2));
        Assert.Equal(1, wg.Count);
        wg.Done();
        await Hooks.OnThread(() => wg.Wait()).Within(); // zero: returns at once
    }

    [Fact]
    public async Task ADoneRacingAWaitersRegistration_NeverStrandsTheWaiter()
    {
        // The waiter reads the counter and registers; a Done on another thread may bring the counter to zero in
        // between. Registration must check the counter it registers against, or that Done releases nobody.
        var wg = new WaitGroup();
        int rounds = Stress.Scale(20_000);
        using var start = new Barrier(2);
        // On a dedicated thread, as a task: if the group breaks, the Done thread's failure (a negative counter, or the
        // barrier disposed when this test fails first) is reported with the test instead of crashing the test host.
        var doner = Hooks.OnThread(() =>
        {
            for (int i = 0; i < rounds; i++)
            {
                Assert.True(start.SignalAndWait(TestTimeout.Default));
                wg.Done();
            }
        });
        for (int i = 0; i < rounds; i++)
        {
            wg.Add(1);
            Assert.True(start.SignalAndWait(TestTimeout.Default), "the Done thread stopped");
            await wg.WaitAsync().Within();
            Assert.Equal(0, wg.Count);
        }
        await doner.Within();
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
        var t = Hooks.OnThread(() => { wg.Wait(); Interlocked.Increment(ref released); }); // a failed Wait fails the test, not the host
        await Go.Sleep(TimeSpan.FromMilliseconds(10));
        wg.Done();
        await waiters.WaitAsync().Within();
        await t.Within();
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

    [Fact]
    public async Task ReuseWhileWaitersAreBeingReleased_Throws_AndReleasesNobodyEarly()
    {
        // Add is "count, then release"; between the two halves the last round's waiter is still registered. A new
        // round's Add in that window is Go's "WaitGroup is reused before previous Wait has returned".
        var wg = new WaitGroup();
        wg.Add(1);
        var old = wg.WaitAsync().AsTask();
        Assert.True(wg.AddCounter(-1)); // the counter is zero; this caller now owes the release
        var ex = Assert.Throws<InvalidOperationException>(() => wg.Add(1));
        Assert.Contains("reused before previous Wait has returned", ex.Message);
        Assert.Equal(0, wg.Count); // the bad Add was undone...
        Assert.Equal(0, wg.WaiterCountForTests()); // ...and, finding the counter at zero with a waiter registered, released it
        await old.Within();
        wg.Release();              // so the release owed by the first Add finds nothing left to do
        Assert.Equal(0, wg.Count);

        wg.Add(1); // once released, a new round is fine
        var next = wg.WaitAsync().AsTask();
        await Task.Delay(10);
        Assert.False(next.IsCompleted);
        wg.Done();
        await next.Within();
    }

    [Fact]
    public async Task ReuseRace_ANewRoundsWaiterIsNeverReleasedBeforeItsDone()
    {
        // X ends a round (Done) while Y races to start the next (Add). Whatever the interleaving, a Wait that Y
        // starts after its Add succeeded must stay pending until Y's Done; an Add that lands in the release window
        // throws instead. Every waiter of the old round is released.
        const int rounds = 3000;
        var wg = new WaitGroup();
        using var barrier = new Barrier(2);
        int early = 0, misuses = 0;
        Task<bool>[] oldWaits = new Task<bool>[rounds];
        var x = Task.Factory.StartNew(() =>
        {
            for (int r = 0; r < rounds; r++)
            {
                wg.Add(1);
                oldWaits[r] = wg.WaitAsync().AsTask().ContinueWith(t => t.IsCompletedSuccessfully, TaskContinuationOptions.ExecuteSynchronously);
                Assert.True(barrier.SignalAndWait(TestTimeout.Default));
                wg.Done();
                Assert.True(barrier.SignalAndWait(TestTimeout.Default));
                wg.Wait(); // Y's round, if it started one (x is awaited with a bound: a hang here fails the test)
            }
        }, TaskCreationOptions.LongRunning);
        var y = Task.Factory.StartNew(() =>
        {
            for (int r = 0; r < rounds; r++)
            {
                Assert.True(barrier.SignalAndWait(TestTimeout.Default));
                bool added;
                try { wg.Add(1); added = true; }
                catch (InvalidOperationException) { added = false; Interlocked.Increment(ref misuses); }
                if (added)
                {
                    var mine = wg.WaitAsync();
                    if (mine.IsCompleted) Interlocked.Increment(ref early);
                    wg.Done();
                    Assert.True(mine.AsTask().Wait(TestTimeout.Default), "a Wait of Y's round was never released");
                }
                Assert.True(barrier.SignalAndWait(TestTimeout.Default));
            }
        }, TaskCreationOptions.LongRunning);
        await Task.WhenAll(x, y).Within();
        Assert.Equal(0, early);
        Assert.All(await Task.WhenAll(oldWaits).Within(), Assert.True);
        Assert.Equal(0, wg.Count);
    }

    [Fact]
    public async Task ANegativeDoneDuringTheRelease_UndoesItself_AndReleasesTheWaitersItself()
    {
        // The Done that reached zero owes the release; a surplus Done in that window makes the counter negative. It
        // is undone (the counter is back at zero, the waiter still registered), so the undoing call releases.
        var wg = new WaitGroup();
        wg.Add(1);
        var waiter = wg.WaitAsync().AsTask();
        var blocked = Task.Run(() => wg.Wait());
        Hooks.SpinUntil(() => wg.WaiterCountForTests() >= 2, "both waiters registered");
        Assert.True(wg.AddCounter(-1));
        Assert.False(waiter.IsCompleted);
        var ex = Assert.Throws<InvalidOperationException>(wg.Done);
        Assert.Contains("negative", ex.Message);
        Assert.Equal(0, wg.Count);
        Assert.Equal(0, wg.WaiterCountForTests()); // released by the undoing Done, before it threw
        await waiter.Within();
        await blocked.Within();
        wg.Release(); // the owed release finds nothing left
        Assert.Equal(0, wg.WaiterCountForTests());
    }

    [Fact]
    public async Task AddZero_WhileTheLastRoundsWaitersAreBeingReleased_IsNotAReuse()
    {
        // Only an Add that starts a round (0 -> positive) can be a reuse; Add(0) changes nothing and must not throw.
        var wg = new WaitGroup();
        wg.Add(1);
        var old = wg.WaitAsync().AsTask();
        Assert.True(wg.AddCounter(-1)); // zero, the waiter still registered: the release is owed
        wg.Add(0);
        Assert.Equal(0, wg.Count);
        wg.Release();
        await old.Within();
        Assert.Equal(0, wg.WaiterCountForTests());
    }

    [Fact]
    public async Task AnAddThatDoesNotReachZero_ReleasesNobody_AndTheCounterIsExact()
    {
        var wg = new WaitGroup();
        wg.Add(3);
        var waiter = wg.WaitAsync().AsTask();
        Assert.False(wg.AddCounter(-1));
        wg.Add(-1);
        Assert.Equal(1, wg.Count);
        Assert.False(waiter.IsCompleted);
        wg.Add(2); // growing a round that has waiters is fine: only a round that starts from zero is a reuse
        Assert.Equal(3, wg.Count);
        wg.Add(-3);
        await waiter.Within();
        Assert.Equal(0, wg.Count);
    }

    [Fact]
    public async Task AReleaseThatFindsANewRoundStarted_ReleasesNobody()
    {
        // The release half of an Add runs after its counting half, without the lock: a new round's Add may land in
        // between (it throws and undoes itself, then releases in its turn). A release that finds the counter above
        // zero, here as in the moment before that undo, must leave the registered waiters alone.
        var wg = new WaitGroup();
        wg.Add(1);
        var waiter = wg.WaitAsync().AsTask();
        Assert.Equal(1, wg.WaiterCountForTests());
        wg.Release();
        Assert.Equal(1, wg.Count);
        Assert.Equal(1, wg.WaiterCountForTests());
        Assert.Equal(1, wg.QueuedWaiters.Count);
        Assert.False(waiter.IsCompleted);
        wg.Done();
        await waiter.Within();
        Assert.Equal(0, wg.WaiterCountForTests());
    }

    [Fact]
    public async Task BlockingWait_Cancelled_Throws_AndUnregisters_SoTheNextRoundIsNotAReuse()
    {
        var wg = new WaitGroup();
        wg.Add(1);
        using var cts = new CancellationTokenSource();
        var blocked = Task.Run(() => wg.Wait(cts.Token));
        var parked = wg.WaitAsync(cts.Token).AsTask();
        Hooks.SpinUntil(() => wg.WaiterCountForTests() >= 2, "both waiters registered");
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.Within());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => parked.Within());
        Assert.Equal(0, wg.WaiterCountForTests()); // both unregistered themselves
        Assert.Throws<OperationCanceledException>(() => TestTimeout.Blocking(() => wg.Wait(cts.Token))); // already cancelled, counter not zero
        Assert.True(wg.WaitAsync(cts.Token).IsCanceled);
        wg.Done();
        wg.Add(1); // no stale waiter: a fresh round, not a reuse
        wg.Done();
        await Hooks.OnThread(() => wg.Wait(cts.Token)).Within(); // zero: returns even with a cancelled token
        Assert.True(wg.WaitAsync(cts.Token).IsCompletedSuccessfully);
    }
}
