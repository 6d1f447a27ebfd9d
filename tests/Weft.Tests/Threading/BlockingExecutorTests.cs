using Weft.Threading;
using Xunit;

namespace Weft.Tests.Threading;

public class BlockingExecutorTests
{
    [Fact]
    public async Task BlockingAsyncRunsOnTheNamedExecutorAndResumesOnWeft()
    {
        var saved = Go.BlockingExecutor;
        using var pool = new ThreadPoolExecutor(new ThreadPoolExecutorOptions { Name = "test-blocking", CorePoolSize = 1, MaximumPoolSize = 2 });
        Go.BlockingExecutor = pool;
        try
        {
            var result = new TaskCompletionSource<(string? ranOn, bool resumedOnWeft, int value)>(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () =>
            {
                string? ranOn = null;
                int v = await Go.BlockingAsync(() => { ranOn = Thread.CurrentThread.Name; Thread.Sleep(20); return 42; });
                result.SetResult((ranOn, SynchronizationContext.Current is Weft.Runtime.Goroutine, v));
            });
            var (ranOn, resumedOnWeft, value) = await result.Task.Within();
            Assert.Equal(42, value);
            Assert.StartsWith("test-blocking", ranOn);
            Assert.True(resumedOnWeft);
            await Weft.Tests.Runtime.GoroutineTests.Eventually(() => pool.CompletedCount == 1);
        }
        finally
        {
            Go.BlockingExecutor = saved;
        }
    }

    [Fact]
    public async Task BlockingAsyncPropagatesExceptionsAndHonoursCancellation()
    {
        await Assert.ThrowsAsync<FormatException>(() => Go.BlockingAsync<int>(() => throw new FormatException("x"))).Within();
        using var cts = new CancellationTokenSource();
        using var release = new ManualResetEventSlim();
        var waiting = Go.BlockingAsync(() => release.Wait(TimeSpan.FromSeconds(10)), cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting).Within();
        release.Set();
        Assert.Throws<ArgumentNullException>(() => Go.BlockingExecutor = null!);
    }

    [Fact]
    public async Task ManyBlockingCallsDoNotStopOtherGoroutines()
    {
        int saved = Go.MaxProcs;
        Go.MaxProcs = 1;
        try
        {
            using var release = new ManualResetEventSlim();
            var calls = Enumerable.Range(0, 8).Select(_ => Go.BlockingAsync(() => release.Wait(TimeSpan.FromSeconds(20)))).ToArray();
            var progressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () => { for (int i = 0; i < 10; i++) await Go.Yield(); progressed.SetResult(); });
            await progressed.Task.Within();
            Assert.All(calls, c => Assert.False(c.IsCompleted));
            release.Set();
            await Task.WhenAll(calls).Within();
        }
        finally
        {
            Go.MaxProcs = saved;
        }
    }
}
