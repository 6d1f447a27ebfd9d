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

    /// <summary>
    /// Issue 13, bug 8: after <c>Go.BlockingExecutor.Shutdown()</c>, every BlockingAsync used to fail with a bare
    /// TaskCanceledException. Now both forms fail with a RejectedExecutionException that names the pool and says it
    /// is shut down. The pool here is configured like the default one (CallerRuns, direct hand-off).
    /// </summary>
    [Fact]
    public Task BlockingAsync_AfterTheExecutorIsShutDown_FailsWithAClearError() => WithBlockingExecutor(
        new() { Name = "blocking-shut", CorePoolSize = 0, MaximumPoolSize = 4, QueueCapacity = 0, RejectionPolicy = RejectionPolicy.CallerRuns },
        async pool =>
        {
            Assert.Equal(1, await Go.BlockingAsync(() => 1).Within());
            pool.Shutdown();
            bool ran = false;
            var e = await Assert.ThrowsAsync<RejectedExecutionException>(() => Go.BlockingAsync(() => { ran = true; return 2; })).Within();
            Assert.Contains("'blocking-shut'", e.Message);
            Assert.Contains("shut down", e.Message);
            e = await Assert.ThrowsAsync<RejectedExecutionException>(() => Go.BlockingAsync(() => { ran = true; })).Within();
            Assert.Contains("shut down", e.Message);
            using var cts = new CancellationTokenSource();
            await Assert.ThrowsAsync<RejectedExecutionException>(() => Go.BlockingAsync(() => { ran = true; }, cts.Token)).Within();

            // From a goroutine, the same error reaches the goroutine.
            var fromGoroutine = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () =>
            {
                try { await Go.BlockingAsync(() => ran = true); fromGoroutine.SetResult(null); }
                catch (Exception x) { fromGoroutine.SetResult(x); }
            });
            Assert.IsType<RejectedExecutionException>(await fromGoroutine.Task.Within());
            Assert.False(ran);
        });

    /// <summary>
    /// A call that an executor of the user's own discards (policy Discard) is not reported as the caller's own
    /// cancellation: it fails with a RejectedExecutionException that says the pool discarded it. A real
    /// cancellation by the caller's token still ends in OperationCanceledException.
    /// </summary>
    [Fact]
    public Task BlockingAsync_OnAnExecutorThatDiscards_SaysTheCallWasDropped() => WithBlockingExecutor(
        new() { Name = "blocking-discard", CorePoolSize = 1, MaximumPoolSize = 1, QueueCapacity = 0, RejectionPolicy = RejectionPolicy.Discard },
        async pool =>
        {
            using var release = new ManualResetEventSlim();
            using var started = new ManualResetEventSlim();
            var busy = Go.BlockingAsync(() => { started.Set(); release.Wait(TimeSpan.FromSeconds(20)); });
            Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
            var e = await Assert.ThrowsAsync<RejectedExecutionException>(() => Go.BlockingAsync(() => 1)).Within();
            Assert.Contains("'blocking-discard'", e.Message);
            Assert.Contains("discarded", e.Message);
            Assert.IsAssignableFrom<OperationCanceledException>(e.InnerException);

            using var cts = new CancellationTokenSource();
            var waiting = Go.BlockingAsync(() => 2, cts.Token); // a token that is not canceled changes nothing
            await Assert.ThrowsAsync<RejectedExecutionException>(() => waiting).Within();
            cts.Cancel();
            // Discarded too, but the caller had canceled: its own cancellation wins.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Go.BlockingAsync(() => 3, cts.Token)).Within();

            release.Set();
            await busy.Within();
            pool.Shutdown();
            e = await Assert.ThrowsAsync<RejectedExecutionException>(() => Go.BlockingAsync(() => 4)).Within();
            Assert.Contains("shut down", e.Message);
        });

    /// <summary>
    /// ShutdownNow hands a never-started task back to its own caller (Java's rule), so a BlockingAsync call it removed
    /// used to wait forever. Now the caller gets a RejectedExecutionException that names the pool and ShutdownNow, the
    /// call never runs (even when ShutdownNow's list is run), and a call that had started is still waited for.
    /// </summary>
    [Fact]
    public Task BlockingAsync_RemovedByShutdownNow_FailsClearly_AndNeverRuns() => WithBlockingExecutor(
        new() { Name = "blocking-now", CorePoolSize = 1, MaximumPoolSize = 1, QueueCapacity = 10 },
        async pool =>
        {
            using var release = new ManualResetEventSlim();
            using var started = new ManualResetEventSlim();
            var running = Go.BlockingAsync(() => { started.Set(); release.Wait(TimeSpan.FromSeconds(20)); return "done"; });
            Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
            bool ran = false;
            var queued = Go.BlockingAsync(() => { ran = true; return 1; });
            var neverStarted = pool.ShutdownNow();
            Assert.Single(neverStarted);
            var e = await Assert.ThrowsAsync<RejectedExecutionException>(() => queued).Within();
            Assert.Contains("'blocking-now'", e.Message);
            Assert.Contains("ShutdownNow", e.Message);
            neverStarted[0](); // whoever runs the returned task: the call has been given up and does not run
            Assert.False(ran);
            release.Set();
            Assert.Equal("done", await running.Within()); // a call that had started is waited for
        });

    /// <summary>The caller's own cancellation is reported with the caller's token.</summary>
    [Fact]
    public async Task BlockingAsync_CanceledByTheCaller_ThrowsWithTheCallersToken()
    {
        using var cts = new CancellationTokenSource();
        using var release = new ManualResetEventSlim();
        var waiting = Go.BlockingAsync(() => release.Wait(TimeSpan.FromSeconds(10)), cts.Token);
        cts.Cancel();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting).Within();
        Assert.Equal(cts.Token, e.CancellationToken);
        release.Set();
    }

    /// <summary>Runs <paramref name="test"/> with Go.BlockingExecutor set to a new pool, then restores it and stops the pool.</summary>
    private static async Task WithBlockingExecutor(ThreadPoolExecutorOptions options, Func<ThreadPoolExecutor, Task> test)
    {
        var saved = Go.BlockingExecutor;
        var pool = new ThreadPoolExecutor(options);
        Go.BlockingExecutor = pool;
        try
        {
            await test(pool);
        }
        finally
        {
            Go.BlockingExecutor = saved;
            pool.ShutdownNow();
        }
    }
}
