using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

public class OnceTests
{
    [Fact]
    public async Task RunsOnce_ForConcurrentCallers()
    {
        var once = new Once();
        int runs = 0;
        var wg = new WaitGroup();
        for (int i = 0; i < 50; i++)
        {
            bool async = i % 2 == 0;
            wg.Go(async () =>
            {
                if (async) await once.DoAsync(async () => { await Go.Yield(); Interlocked.Increment(ref runs); });
                else once.Do(() => Interlocked.Increment(ref runs));
                Assert.True(once.IsDone);
            });
        }
        await wg.WaitAsync().Within();
        Assert.Equal(1, runs);
    }

    [Fact]
    public void Once_Throws_EveryCallRethrows()
    {
        var once = new Once();
        int runs = 0;
        var e1 = Assert.Throws<InvalidOperationException>(() => once.Do(() => { runs++; throw new InvalidOperationException("boom"); }));
        var e2 = Assert.Throws<InvalidOperationException>(() => once.Do(() => runs++));
        Assert.Same(e1, e2);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task OnceValue_ComputesOnce_AndRethrows()
    {
        int runs = 0;
        var v = new OnceValue<int>(() => Interlocked.Increment(ref runs) * 42);
        Assert.Equal(42, v.Value);
        Assert.Equal(42, await v.GetAsync().AsTask().Within());
        Assert.Equal(1, runs);

        var bad = new OnceValue<string>(() => { runs++; throw new FormatException("bad"); });
        Assert.Throws<FormatException>(() => bad.Value);
        Assert.Throws<FormatException>(() => bad.Value);
        await Assert.ThrowsAsync<FormatException>(() => bad.GetAsync().AsTask().Within());
        Assert.Equal(2, runs);
    }

    [Fact]
    public async Task Once_IsDoneOnlyAfterTheRun_AndAThrowingRunCountsAsDone()
    {
        var once = new Once();
        Assert.False(once.IsDone);
        bool sawDoneInside = true;
        once.Do(() => sawDoneInside = once.IsDone);
        Assert.False(sawDoneInside);
        Assert.True(once.IsDone);

        var failing = new Once();
        await Assert.ThrowsAsync<FormatException>(() => failing.DoAsync(() => throw new FormatException()).AsTask().Within());
        Assert.True(failing.IsDone);
        Assert.Throws<FormatException>(() => failing.Do(() => { }));
        var async = new Once();
        await async.DoAsync(() => Task.CompletedTask).AsTask().Within();
        Assert.True(async.IsDone);
        await async.DoAsync(() => throw new InvalidOperationException("not run")).AsTask().Within();
    }

    [Fact]
    public async Task Once_AsyncRunThatThrowsAfterAnAwait_IsRethrownToTheWaitersToo()
    {
        var once = new Once();
        var gate = new TaskCompletionSource();
        var first = once.DoAsync(async () => { await gate.Task; throw new FormatException("late"); }).AsTask();
        var second = once.DoAsync(() => Task.CompletedTask).AsTask();
        var third = Task.Run(() => once.Do(() => { }));
        Assert.False(second.IsCompleted);
        gate.SetResult();
        var e1 = await Assert.ThrowsAsync<FormatException>(() => first.Within());
        Assert.Same(e1, await Assert.ThrowsAsync<FormatException>(() => second.Within()));
        Assert.Same(e1, await Assert.ThrowsAsync<FormatException>(() => third.Within()));
    }

    [Fact]
    public async Task Once_CancelledWaiters_GiveUp_WithoutRunning_AndTheRunStillCompletes()
    {
        var once = new Once();
        var gate = new TaskCompletionSource();
        var running = new TaskCompletionSource();
        var first = once.DoAsync(async () => { running.SetResult(); await gate.Task; }).AsTask();
        await running.Task.Within();
        using var cts = new CancellationTokenSource();
        int ran = 0;
        var asyncWaiter = once.DoAsync(() => { ran++; return Task.CompletedTask; }, cts.Token).AsTask();
        var blockingWaiter = Task.Run(() => once.Do(() => ran++, cts.Token));
        await Task.Delay(10);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asyncWaiter.Within());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blockingWaiter.Within());
        Assert.False(once.IsDone);
        gate.SetResult();
        await first.Within();
        Assert.True(once.IsDone);
        once.Do(() => ran++, cts.Token); // done: a cancelled token does not matter any more
        await once.DoAsync(() => { ran++; return Task.CompletedTask; }, cts.Token).AsTask().Within();
        Assert.Equal(0, ran);
    }

    [Fact]
    public async Task NullFunctions_AreAClearError()
    {
        var once = new Once();
        Assert.Throws<ArgumentNullException>(() => once.Do(null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => once.DoAsync(null!).AsTask());
        Assert.Throws<ArgumentNullException>(() => new OnceValue<int>(null!));
        Assert.Throws<ArgumentNullException>(() => new OnceValues<int, int>(null!));
        Assert.Throws<ArgumentNullException>(() => new OnceFunc(null!));
        Assert.False(once.IsDone);
    }

    [Fact]
    public async Task OnceFamily_ConcurrentFirstCallers_RunTheFunctionOnce_AndAllSeeItsResult()
    {
        int funcRuns = 0, valueRuns = 0, valuesRuns = 0;
        var gate = new TaskCompletionSource();
        var f = new OnceFunc(() => { Interlocked.Increment(ref funcRuns); gate.Task.Wait(); });
        var v = new OnceValue<string>(() => { Interlocked.Increment(ref valueRuns); gate.Task.Wait(); return "v"; });
        var vs = new OnceValues<int, string>(() => { Interlocked.Increment(ref valuesRuns); gate.Task.Wait(); return (7, "w"); });
        var wg = new WaitGroup();
        int seen = 0;
        var got = new (string, (int, string))[20]; // checked here, not in the goroutines: a failed assert there would end the process
        for (int i = 0; i < 20; i++)
        {
            int id = i;
            wg.Go(async () =>
            {
                if (id % 2 == 0)
                {
                    await f.InvokeAsync();
                    got[id] = (await v.GetAsync(), await vs.GetAsync());
                }
                else
                {
                    got[id] = await Go.BlockingAsync(() =>
                    {
                        f.Invoke();
                        return (v.Value, vs.Values);
                    });
                }
                Interlocked.Increment(ref seen);
            });
        }
        await Task.Delay(20);
        Assert.Equal(0, Volatile.Read(ref seen));
        gate.SetResult();
        await wg.WaitAsync().Within();
        Assert.Equal(20, seen);
        Assert.All(got, g => Assert.Equal(("v", (7, "w")), g));
        Assert.Equal((1, 1, 1), (funcRuns, valueRuns, valuesRuns));
    }

    [Fact]
    public async Task OnceFamily_AsyncForms_RethrowTheSameException_AndHonourCancellation()
    {
        var e = new FormatException("bad");
        var f = new OnceFunc(() => throw e);
        Assert.Same(e, await Assert.ThrowsAsync<FormatException>(() => f.InvokeAsync().AsTask().Within()));
        Assert.Same(e, Assert.Throws<FormatException>(f.Invoke));
        var vs = new OnceValues<int, int>(() => throw e);
        Assert.Same(e, await Assert.ThrowsAsync<FormatException>(() => vs.GetAsync().AsTask().Within()));
        Assert.Same(e, Assert.Throws<FormatException>(() => vs.Values));

        var gate = new TaskCompletionSource();
        var running = new TaskCompletionSource();
        var slow = new OnceValue<int>(() => { running.SetResult(); gate.Task.Wait(); return 5; });
        var computing = Task.Run(() => slow.Value);
        await running.Task.Within();
        using var cts = new CancellationTokenSource();
        var waiter = slow.GetAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.Within());
        gate.SetResult();
        Assert.Equal(5, await computing.Within());
        Assert.Equal(5, await slow.GetAsync(cts.Token).AsTask().Within());
    }
}
