using Weft.Tests.Runtime;
using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

public class SingleFlightTests
{
    [Fact]
    public async Task HundredConcurrentCallers_OneRun_SameResult()
    {
        var flights = new SingleFlight<string, int>();
        int runs = 0;
        var gate = new TaskCompletionSource();
        var results = new int[100];
        var wg = new WaitGroup();
        for (int i = 0; i < 100; i++)
        {
            int id = i;
            wg.Go(async () =>
            {
                results[id] = await flights.DoAsync("key", async () =>
                {
                    Interlocked.Increment(ref runs);
                    await gate.Task; // hold the flight open until every caller joined
                    return 7;
                });
            });
        }
        // Every caller must have joined before the flight ends, or a late one would start a second flight.
        await GoroutineTests.Eventually(() => flights.JoinedForTests("key") == 99);
        gate.SetResult();
        await wg.WaitAsync().Within();
        Assert.Equal(1, runs);
        Assert.All(results, r => Assert.Equal(7, r));
        // The flight ended: a new call runs again.
        Assert.Equal(8, await flights.DoAsync("key", () => Task.FromResult(8)).Within());
    }

    [Fact]
    public async Task ErrorIsShared()
    {
        var flights = new SingleFlight<int, int>();
        var gate = new TaskCompletionSource();
        var a = flights.DoAsync(1, async () => { await gate.Task; throw new InvalidOperationException("x"); });
        var b = flights.DoAsync(1, () => Task.FromResult(1));
        gate.SetResult();
        await Assert.ThrowsAsync<InvalidOperationException>(() => a.Within());
        await Assert.ThrowsAsync<InvalidOperationException>(() => b.Within());
    }

    [Fact]
    public async Task BlockingDo_FromThreads()
    {
        var flights = new SingleFlight<string, int>();
        int runs = 0;
        using var barrier = new Barrier(8);
        var ts = Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() =>
        {
            barrier.SignalAndWait();
            return flights.Do("k", () => { Interlocked.Increment(ref runs); Thread.Sleep(50); return 3; });
        }, TaskCreationOptions.LongRunning)).ToArray();
        var all = await Task.WhenAll(ts).Within();
        Assert.All(all, v => Assert.Equal(3, v));
        Assert.InRange(runs, 1, 2); // a straggler arriving after the flight landed may run it again
    }

    [Fact]
    public async Task Shared_IsFalseForALoneCaller_AndTrueForEveryCallerOfAJoinedFlight()
    {
        var flights = new SingleFlight<string, int>();
        var alone = flights.DoResult("a", () => 1);
        Assert.Equal((1, false), (alone.Value, alone.Shared));
        var lone = await flights.DoResultAsync("a", () => Task.FromResult(2)).Within();
        Assert.Equal((2, false), (lone.Value, lone.Shared));
        var loneChan = await flights.DoChan("a", () => Task.FromResult(3)).ReceiveAsync().AsTask().Within();
        Assert.Equal((3, false), (loneChan.Value, loneChan.Shared));

        // A blocking leader on its own thread; the others join while its function waits for the gate.
        var started = new TaskCompletionSource();
        var gate = new ManualResetEventSlim();
        var leader = Task.Run(() => flights.DoResult("k", () => { started.SetResult(); gate.Wait(); return 9; }));
        await started.Task.Within();
        var joiner = flights.DoResultAsync("k", () => Task.FromResult(-1));
        var chanJoiner = flights.DoChan("k", () => Task.FromResult(-2));
        var valueJoiner = flights.DoAsync("k", () => Task.FromResult(-3));
        gate.Set();
        var led = await leader.Within();
        // The flight ended: its channels already hold the result (sent before the end is published).
        Assert.True(chanJoiner.TryReceive(out var viaChan), "the DoChan channel had no result when the flight ended");
        foreach (var r in new[] { led, await joiner.Within(), viaChan })
            Assert.Equal((9, true, (Exception?)null), (r.Value, r.Shared, r.Exception));
        Assert.Equal(9, await valueJoiner.Within());
        Assert.False(chanJoiner.TryReceive(out _)); // exactly one result per channel
    }

    [Fact]
    public async Task DoChan_IsASelectCase_ATimeoutCanWinWhileTheFlightRuns_AndTheResultWaitsInTheChannel()
    {
        var flights = new SingleFlight<string, string>();
        var gate = new TaskCompletionSource<string>();
        var results = flights.DoChan("url", () => gate.Task);
        var sel = new Select();
        var page = sel.Receive(results);
        var timeout = sel.Timeout(TimeSpan.FromMilliseconds(5));
        Assert.Equal(timeout.Index, await sel.WaitAsync().AsTask().Within());

        gate.SetResult("<html>");
        var again = new Select();
        var page2 = again.Receive(results);
        var never = again.Receive(new Chan<int>());
        Assert.Equal(page2.Index, await again.WaitAsync().AsTask().Within());
        Assert.Equal(("<html>", false), (page2.Value.Value, page2.Value.Shared));
        Assert.True(page2.Ok);
        Assert.Equal(0, results.Len);
        Assert.False(results.IsClosed); // never closed, as in Go
        GC.KeepAlive(page);
        GC.KeepAlive(never);
    }

    [Fact]
    public async Task DoChan_RunsTheLeadersFunctionInANewGoroutine_NotOnTheCallersStack()
    {
        var flights = new SingleFlight<int, int>();
        using var gate = new ManualResetEventSlim();
        // If DoChan ran the function itself, it would not return until the gate opens, and this would time out.
        var ch = await Task.Run(() => flights.DoChan(1, () =>
        {
            gate.Wait();
            return Task.FromResult(4);
        })).Within();
        var joined = flights.DoAsync(1, () => Task.FromResult(-1)); // the flight is still in progress: joins it
        gate.Set();
        Assert.Equal(4, await joined.Within());
        Assert.Equal(4, (await ch.ReceiveAsync().AsTask().Within()).Value);
    }

    [Fact]
    public async Task Forget_MakesTheNextCallRunAgain_WhileTheOldCallersGetTheOldResult()
    {
        var flights = new SingleFlight<string, int>();
        var oldGate = new TaskCompletionSource<int>();
        var oldLeader = flights.DoAsync("k", () => oldGate.Task);
        var oldJoiner = flights.DoResultAsync("k", () => Task.FromResult(-1));
        flights.Forget("k");
        flights.Forget("no such key"); // nothing to forget: no error
        var newGate = new TaskCompletionSource<int>();
        var newLeader = flights.DoResultAsync("k", () => newGate.Task);
        var newJoiner = flights.DoAsync("k", () => Task.FromResult(-2));
        oldGate.SetResult(1);
        Assert.Equal(1, await oldLeader.Within());
        Assert.Equal((1, true), ((await oldJoiner.Within()).Value, (await oldJoiner).Shared));
        // The old flight's landing did not remove the new one: a caller now still joins it.
        var lateJoiner = flights.DoAsync("k", () => Task.FromResult(-3));
        newGate.SetResult(2);
        Assert.Equal(2, (await newLeader.Within()).Value);
        Assert.Equal(2, await newJoiner.Within());
        Assert.Equal(2, await lateJoiner.Within());
    }

    [Fact]
    public async Task ALeadersCancelledWait_LeavesTheFlightRunningForTheOthers()
    {
        var flights = new SingleFlight<string, int>();
        var gate = new TaskCompletionSource<int>();
        using var cts = new CancellationTokenSource();
        var leader = flights.DoResultAsync("k", () => gate.Task, cts.Token);
        var joiner = flights.DoAsync("k", () => Task.FromResult(-1));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader.Within());
        var blocked = Task.Run(() => flights.Do("k", () => -2, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.Within());
        gate.SetResult(5);
        Assert.Equal(5, await joiner.Within());
    }

    [Fact]
    public async Task BlockingJoiner_CancelledWhileWaiting_Throws_AndAFinishedFlightIsNeverReportedAsCancelled()
    {
        var flights = new SingleFlight<string, int>();
        var started = new TaskCompletionSource();
        var gate = new TaskCompletionSource<int>();
        var leader = flights.DoAsync("k", () => { started.SetResult(); return gate.Task; });
        await started.Task.Within();
        using var cts = new CancellationTokenSource();
        var waiter = Task.Run(() => flights.DoResult("k", () => -1, cts.Token));
        var plain = Task.Run(() => flights.DoResult("k", () => -1));
        using var live = new CancellationTokenSource();
        var withLiveToken = Task.Run(() => flights.DoResult("k", () => -1, live.Token));
        Hooks.SpinUntil(() => flights.JoinedForTests("k") >= 3, "three callers joined the flight");
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.Within());
        gate.SetResult(6);
        Assert.Equal(6, await leader.Within());
        foreach (var p in new[] { await plain.Within(), await withLiveToken.Within() })
            Assert.Equal((6, true), (p.Value, p.Shared));

        // A cancelled token on entry throws before joining; a completed flight with a cancelled token is a result.
        Assert.Throws<OperationCanceledException>(() => flights.DoResult("k", () => 0, cts.Token));
        var doneGate = new TaskCompletionSource<int>();
        var flight = flights.DoAsync("d", () => doneGate.Task);
        var late = flights.DoResultAsync("d", () => Task.FromResult(-1), cts.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => late.Within());
        doneGate.SetResult(7);
        Assert.Equal(7, await flight.Within());
    }

    [Fact]
    public async Task NullArguments_AreAClearError()
    {
        var flights = new SingleFlight<string, int>();
        Assert.Throws<ArgumentNullException>(() => flights.Do(null!, () => 1));
        Assert.Throws<ArgumentNullException>(() => flights.Do("k", null!));
        Assert.Throws<ArgumentNullException>(() => flights.DoResult(null!, () => 1));
        Assert.Throws<ArgumentNullException>(() => flights.DoResult("k", null!));
        Assert.Throws<ArgumentNullException>(() => { _ = flights.DoAsync(null!, () => Task.FromResult(1)); }); // thrown at the call, not in the task
        Assert.Throws<ArgumentNullException>(() => { _ = flights.DoAsync("k", null!); }); // thrown at the call, not in the task
        Assert.Throws<ArgumentNullException>(() => { _ = flights.DoResultAsync(null!, () => Task.FromResult(1)); }); // thrown at the call, not in the task
        Assert.Throws<ArgumentNullException>(() => { _ = flights.DoResultAsync("k", null!); }); // thrown at the call, not in the task
        Assert.Throws<ArgumentNullException>(() => flights.DoChan(null!, () => Task.FromResult(1)));
        Assert.Throws<ArgumentNullException>(() => flights.DoChan("k", null!));
        Assert.Throws<ArgumentNullException>(() => flights.Forget(null!));
        Assert.Equal(1, await flights.DoAsync("k", () => Task.FromResult(1)).Within()); // nothing was left behind
    }

    [Fact]
    public async Task AFunctionReturningANullTask_FailsItsFlight_ForEveryCaller()
    {
        var flights = new SingleFlight<string, int>();
        var r = await flights.DoResultAsync("k", () => null!).Within();
        Assert.IsType<NullReferenceException>(r.Exception);
        Assert.Equal(3, await flights.DoAsync("k", () => Task.FromResult(3)).Within());
    }

    [Fact]
    public async Task KeyComparer_DecidesWhichCallsShareAFlight()
    {
        var ignoringCase = new SingleFlight<string, int>(StringComparer.OrdinalIgnoreCase);
        var exact = new SingleFlight<string, int>();
        var gate = new TaskCompletionSource<int>();
        var a = ignoringCase.DoAsync("KEY", () => gate.Task);
        var b = ignoringCase.DoAsync("key", () => Task.FromResult(-1));
        var c = exact.DoAsync("KEY", () => gate.Task);
        var d = exact.DoAsync("key", () => Task.FromResult(-1));
        gate.SetResult(1);
        Assert.Equal((1, 1, 1, -1), (await a.Within(), await b.Within(), await c.Within(), await d.Within()));
    }
}
