using System.Runtime.CompilerServices;
using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

public class ErrGroupTests
{
    [Fact]
    public async Task FirstErrorWins_AndTokenIsCancelled()
    {
        var g = new ErrGroup();
        var first = new InvalidOperationException("first");
        var firstThrown = new TaskCompletionSource();
        g.Go(async () =>
        {
            await Go.Yield();
            firstThrown.SetResult();
            throw first;
        });
        g.Go(async () =>
        {
            await firstThrown.Task;
            await Go.Sleep(Timeout.InfiniteTimeSpan, g.Token).AsTask().ContinueWith(_ => { });
            throw new ArgumentException("second, after cancellation");
        });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => g.WaitAsync().AsTask().Within());
        Assert.Same(first, ex);
        Assert.True(g.Token.IsCancellationRequested);
    }

    [Fact]
    public async Task NoError_WaitReturns_TokenCancelledAfterWait()
    {
        var g = new ErrGroup();
        int n = 0;
        for (int i = 0; i < 10; i++) g.Go(async () => { await Go.Yield(); Interlocked.Increment(ref n); });
        await g.WaitAsync().AsTask().Within();
        Assert.Equal(10, n);
        Assert.True(g.Token.IsCancellationRequested);
    }

    [Fact]
    public async Task ParentCancellation_CancelsToken()
    {
        using var parent = new CancellationTokenSource();
        var g = new ErrGroup(parent.Token);
        parent.Cancel();
        Assert.True(g.Token.IsCancellationRequested);
        await g.WaitAsync().AsTask().Within();
    }

    [Fact]
    public async Task Limit_NeverMoreThanNRunning()
    {
        var g = new ErrGroup();
        g.SetLimit(3);
        int running = 0, max = 0;
        var starter = new TaskCompletionSource();
        Go.Run(async () =>
        {
            for (int i = 0; i < 30; i++)
            {
                await g.GoAsync(async () =>
                {
                    int r = Interlocked.Increment(ref running);
                    int m;
                    while (r > (m = Volatile.Read(ref max)) && Interlocked.CompareExchange(ref max, r, m) != m) { }
                    await Go.Sleep(TimeSpan.FromMilliseconds(1));
                    Interlocked.Decrement(ref running);
                });
            }
            starter.SetResult();
        });
        await starter.Task.Within();
        await g.WaitAsync().AsTask().Within();
        Assert.InRange(max, 1, 3);
    }

    [Fact]
    public async Task TryGo_FailsWhenFull()
    {
        var g = new ErrGroup();
        g.SetLimit(1);
        var release = new TaskCompletionSource();
        Assert.True(g.TryGo(() => release.Task));
        Assert.False(g.TryGo(() => Task.CompletedTask));
        Assert.Throws<InvalidOperationException>(() => g.SetLimit(2));
        release.SetResult();
        await g.WaitAsync().AsTask().Within();
    }

    [Fact]
    public async Task SetLimitZero_GoWaitsUntilItsTokenIsCancelled_TryGoFails_NothingStarts()
    {
        var g = new ErrGroup();
        g.SetLimit(0);
        int started = 0;
        Func<Task> f = () => { Interlocked.Increment(ref started); return Task.CompletedTask; };
        Assert.False(g.TryGo(f));
        using var cts = new CancellationTokenSource();
        var blocking = Task.Run(() => g.Go(f, cts.Token));
        var parked = g.GoAsync(f, cts.Token).AsTask();
        await Task.Delay(20);
        Assert.False(blocking.IsCompleted);
        Assert.False(parked.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocking.Within());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => parked.Within());
        await g.WaitAsync().AsTask().Within();
        Assert.Equal(0, started);

        // Nothing is running, so the limit may change again; the new one admits functions.
        g.SetLimit(1);
        var release = new TaskCompletionSource();
        Assert.True(g.TryGo(() => release.Task));
        Assert.False(g.TryGo(f));
        release.SetResult();
        await g.WaitAsync().AsTask().Within();
        Assert.True(g.TryGo(f));
        await g.WaitAsync().AsTask().Within();
        Assert.Equal(1, started);
    }

    [Fact]
    public async Task NegativeLimit_RemovesTheLimit_EvenWhileFunctionsRun()
    {
        var g = new ErrGroup();
        g.SetLimit(1);
        var release = new TaskCompletionSource();
        Assert.True(g.TryGo(() => release.Task));
        Assert.False(g.TryGo(() => Task.CompletedTask));
        g.SetLimit(-7); // allowed while active, as in Go
        int ran = 0;
        for (int i = 0; i < 100; i++) Assert.True(g.TryGo(async () => { Interlocked.Increment(ref ran); await release.Task; }));
        await g.GoAsync(() => release.Task).AsTask().Within();
        g.Go(() => release.Task);
        release.SetResult();
        await g.WaitAsync().AsTask().Within();
        Assert.Equal(100, ran);
        Assert.IsType<OperationCanceledException>(g.Cause); // no function failed
    }

    [Fact]
    public async Task SetLimitWhileFunctionsRun_IsAClearError_WithOrWithoutAnEarlierLimit()
    {
        var g = new ErrGroup();
        var release = new TaskCompletionSource();
        g.Go(() => release.Task);
        g.Go(() => release.Task);
        var e = Assert.Throws<InvalidOperationException>(() => g.SetLimit(5)); // no earlier limit: Go would not notice
        Assert.Contains("2 functions", e.Message);
        Assert.Throws<InvalidOperationException>(() => g.SetLimit(0));
        release.SetResult();
        await g.WaitAsync().AsTask().Within();
        g.SetLimit(0);
        g.SetLimit(2);
        var hold = new TaskCompletionSource();
        Assert.True(g.TryGo(() => hold.Task));
        Assert.Throws<InvalidOperationException>(() => g.SetLimit(1));
        Assert.True(g.TryGo(() => hold.Task)); // the refused SetLimit left the limit of 2 in place
        Assert.False(g.TryGo(() => hold.Task));
        hold.SetResult();
        await g.WaitAsync().AsTask().Within();
    }

    [Fact]
    public async Task Cause_IsNullUntilCancelled_ThenTheFirstError_SetBeforeTheTokenIsCancelled()
    {
        var g = new ErrGroup();
        Assert.Null(g.Cause);
        g.ThrowIfCancellationRequested(); // not cancelled: nothing thrown
        Exception? seenByCallback = null;
        g.Token.Register(() => seenByCallback = g.Cause);
        var first = new FormatException("first");
        var gate = new TaskCompletionSource();
        g.Go(async () => { await gate.Task; throw first; });
        g.Go(async () =>
        {
            try { await Go.Sleep(Timeout.InfiniteTimeSpan, g.Token); }
            catch (OperationCanceledException) { }
            g.ThrowIfCancellationRequested();
        });
        Assert.Null(g.Cause);
        gate.SetResult();
        Assert.Same(first, await Assert.ThrowsAsync<FormatException>(() => g.WaitAsync().AsTask().Within()));
        Assert.Same(first, seenByCallback);
        Assert.Same(first, g.Cause); // Wait returning does not replace it
        var oce = Assert.Throws<OperationCanceledException>(g.ThrowIfCancellationRequested);
        Assert.Same(first, oce.InnerException);
        Assert.Equal(g.Token, oce.CancellationToken);
    }

    [Fact]
    public async Task Cause_OfAParentCancellation_IsKept_ThoughALaterErrorIsWhatWaitThrows()
    {
        using var parent = new CancellationTokenSource();
        var g = new ErrGroup(parent.Token);
        var gate = new TaskCompletionSource();
        var late = new FormatException("after the parent");
        g.Go(async () => { await gate.Task; throw late; });
        parent.Cancel();
        Assert.True(g.Token.IsCancellationRequested);
        var cause = Assert.IsType<OperationCanceledException>(g.Cause);
        Assert.Equal(parent.Token, cause.CancellationToken);
        gate.SetResult();
        Assert.Same(late, await Assert.ThrowsAsync<FormatException>(() => g.WaitAsync().AsTask().Within()));
        Assert.Same(cause, g.Cause);
    }

    [Fact]
    public async Task ParentAlreadyCancelled_CancelsTheTokenAtOnce_WithItsCause()
    {
        var g = new ErrGroup(new CancellationToken(true));
        Assert.True(g.Token.IsCancellationRequested);
        Assert.IsType<OperationCanceledException>(g.Cause);
        await g.WaitAsync().AsTask().Within();
    }

    [Fact]
    public async Task Cause_WhenWaitReturnsCleanly_IsACancellationOfTheGroupsToken_AndTheParentIsUnlinked()
    {
        using var parent = new CancellationTokenSource();
        var g = new ErrGroup(parent.Token);
        g.Go(() => Task.CompletedTask);
        await Task.Run(() => g.Wait()).Within();
        var cause = Assert.IsType<OperationCanceledException>(g.Cause);
        Assert.Equal(g.Token, cause.CancellationToken);
        parent.Cancel(); // unlinked by Wait: the cause stays Wait's
        Assert.Same(cause, g.Cause);
    }

    [Fact]
    public async Task WaitWithACancelledToken_Throws_LeavesTheGroupRunning()
    {
        var g = new ErrGroup();
        var release = new TaskCompletionSource();
        g.Go(() => release.Task);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => g.WaitAsync(cts.Token).AsTask().Within());
        Assert.ThrowsAny<OperationCanceledException>(() => TestTimeout.Blocking(() => g.Wait(cts.Token)));
        Assert.False(g.Token.IsCancellationRequested);
        Assert.Null(g.Cause);
        release.SetResult();
        await g.WaitAsync().AsTask().Within();
    }

    [Fact]
    public async Task NullFunctions_AreAClearError()
    {
        var g = new ErrGroup();
        Assert.Throws<ArgumentNullException>(() => g.Go((Func<Task>)null!));
        Assert.Throws<ArgumentNullException>(() => g.TryGo((Func<Task>)null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => g.GoAsync((Func<Task>)null!).AsTask());
        Assert.Throws<ArgumentNullException>(() => g.Go((Func<CancellationToken, ValueTask>)null!));
        Assert.Throws<ArgumentNullException>(() => g.TryGo((Func<CancellationToken, Task>)null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => g.GoAsync((Func<ValueTask>)null!).AsTask());
    }

#if !DEBUG // a Debug build keeps the awaited task's locals reachable, so collectability is checked in the Release pass only
    [Fact]
    public async Task Wait_UnlinksTheParentToken_SoALongLivedParentDoesNotKeepTheGroupAlive()
    {
        using var parent = new CancellationTokenSource();
        var group = await FinishedGroup(parent.Token);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(group.IsAlive, "the parent token's registration still holds the finished group");
        GC.KeepAlive(parent);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> FinishedGroup(CancellationToken parent)
    {
        var g = new ErrGroup(parent);
        g.Go(() => Task.CompletedTask);
        await g.WaitAsync().AsTask().Within();
        return new WeakReference(g);
    }
#endif
}
