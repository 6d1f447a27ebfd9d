using System.Diagnostics;
using Weft.Runtime;
using Xunit;

namespace Weft.Tests.Runtime;

public class SleepTests
{
    [Fact]
    public async Task EverySleeperWakesExactlyOnceAndNeverEarly()
    {
        const int n = 10_000;
        var woke = new int[n];
        var early = 0;
        int remaining = n;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (int i = 0; i < n; i++)
        {
            Go.Run(i, async j =>
            {
                var d = TimeSpan.FromMilliseconds(1 + j % 40);
                long start = Stopwatch.GetTimestamp();
                await Go.Sleep(d);
                if (Stopwatch.GetElapsedTime(start) < d) Interlocked.Increment(ref early);
                Interlocked.Increment(ref woke[j]);
                if (Interlocked.Decrement(ref remaining) == 0) done.SetResult();
            });
        }
        await done.Task.Within();
        Assert.Equal(0, early);
        Assert.All(woke, w => Assert.Equal(1, w));
    }

    [Fact]
    public async Task SleepWorksOutsideGoroutines()
    {
        long start = Stopwatch.GetTimestamp();
        await Go.Sleep(TimeSpan.FromMilliseconds(20)).Within();
        Assert.True(Stopwatch.GetElapsedTime(start) >= TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task CancelledSleepThrowsAndLeavesNoTimerBehind()
    {
        // In a bubble the timer heap is the bubble's own, so the count is exact whatever else runs.
        Exception? caught = null;
        await Weft.Testing.Bubble.Run(async b =>
        {
            var cts = new CancellationTokenSource();
            var done = new Chan<int>();
            Go.Run(async () =>
            {
                try { await Go.Sleep(TimeSpan.FromHours(1), cts.Token); }
                catch (Exception ex) { caught = ex; }
                done.Close();
            });
            await b.WaitIdleAsync();
            Assert.Equal(1, b.Core.Timers.Count);
            cts.Cancel();
            await done.ReceiveAsync();
            Assert.Equal(0, b.Core.Timers.Count);
            Assert.Equal(Weft.Testing.Bubble.Epoch, b.Now); // cancelled, not expired
        }).Within();
        Assert.IsAssignableFrom<OperationCanceledException>(caught);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Go.Sleep(TimeSpan.FromSeconds(1), new CancellationToken(true)));
    }

    [Fact]
    public async Task InfiniteSleepLastsUntilCancelledWhereGoWouldReturnAtOnce()
    {
        // docs/go-differences.md: Timeout.InfiniteTimeSpan (-1 ms) is .NET's "no timeout", not a negative duration.
        await Weft.Testing.Bubble.Run(async b =>
        {
            var cts = new CancellationTokenSource();
            var done = new Chan<Exception?>(1);
            Go.Run(async () =>
            {
                try { await Go.Sleep(Timeout.InfiniteTimeSpan, cts.Token); done.TrySend(null); }
                catch (Exception ex) { done.TrySend(ex); }
            });
            await Go.Sleep(TimeSpan.FromDays(365 * 100));
            Assert.False(done.TryReceive(out _));
            cts.Cancel();
            Assert.IsAssignableFrom<OperationCanceledException>(await done.ReceiveAsync());
        }).Within();
    }

    [Fact]
    public async Task SleepReturnsAtOnceForZeroAndNegativeDurationsAsInGo()
    {
        Assert.True(Go.Sleep(TimeSpan.FromMilliseconds(-5)).IsCompletedSuccessfully);
        Assert.True(Go.Sleep(TimeSpan.MinValue).IsCompletedSuccessfully);
        Assert.True(Go.Sleep(TimeSpan.Zero).IsCompletedSuccessfully);
        await Go.Sleep(TimeSpan.Zero);
    }

    [Fact]
    public async Task AValueTaskFromSleepCannotBeAwaitedTwice()
    {
        var r = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            var vt = Go.Sleep(TimeSpan.FromMilliseconds(1));
            await vt;
            try { await vt; r.SetResult(null); }
            catch (Exception ex) { r.SetResult(ex); }
        });
        Assert.IsType<InvalidOperationException>(await r.Task.Within());
    }

}
