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
        Assert.Throws<ArgumentOutOfRangeException>(() => g.SetLimit(0));
    }
}
