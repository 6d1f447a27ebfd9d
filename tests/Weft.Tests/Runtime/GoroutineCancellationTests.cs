using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// What an OperationCanceledException escaping a goroutine means: with a cancelled token, the goroutine was asked to
/// stop (ends quietly, as Task.Run ends Canceled); otherwise a failure, reported with its original stack trace.
/// </summary>
public class GoroutineCancellationTests
{
    [Fact]
    public async Task ACancellationThatWasAskedForEndsTheGoroutineQuietly()
    {
        var seen = new List<Exception>();
        EventHandler<GoroutineExceptionEventArgs> handler = (_, e) => { lock (seen) seen.Add(e.Exception); };
        Go.UnhandledException += handler;
        try
        {
            using var cts = new CancellationTokenSource();
            var ended = new Chan<int>(3);
            Go.Run(async () =>
            {
                try { await Go.Sleep(TimeSpan.FromHours(1), cts.Token); }
                finally { await ended.SendAsync(1); }
            });
            Go.Run(() =>
            {
                try { cts.Token.WaitHandle.WaitOne(); cts.Token.ThrowIfCancellationRequested(); }
                finally { ended.Send(2); }
            });
            Go.Run(async () =>
            {
                try { await Task.Delay(Timeout.Infinite, cts.Token); }
                finally { await ended.SendAsync(3); }
            });
            cts.Cancel();
            for (int i = 0; i < 3; i++) await ended.ReceiveAsync().AsTask().Within();

            // A failing goroutine started afterwards is reported, so a quiet end above was not a lost report.
            var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            EventHandler<GoroutineExceptionEventArgs> h2 = (_, e) => { if (e.Exception.Message == "after") marker.TrySetResult(); };
            Go.UnhandledException += h2;
            Go.Run(() => throw new InvalidOperationException("after"));
            await marker.Task.Within();
            Go.UnhandledException -= h2;
            lock (seen) Assert.DoesNotContain(seen, e => e is OperationCanceledException);
        }
        finally
        {
            Go.UnhandledException -= handler;
        }
    }

    [Fact]
    public async Task AStrayCancellationIsReportedWithItsOriginalStackTrace()
    {
        var seen = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var seenSync = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var seenNotCancelled = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        EventHandler<GoroutineExceptionEventArgs> handler = (_, e) =>
        {
            if (e.Exception.Message == "stray async") seen.TrySetResult(e.Exception);
            if (e.Exception.Message == "stray sync") seenSync.TrySetResult(e.Exception);
            if (e.Exception.Message == "token not cancelled") seenNotCancelled.TrySetResult(e.Exception);
        };
        Go.UnhandledException += handler;
        try
        {
            Go.Run(async () =>
            {
                await Task.Yield();
                ThrowStray("stray async");
            });
            Go.Run(() => ThrowStray("stray sync"));
            using var live = new CancellationTokenSource();
            Go.Run(async () =>
            {
                await Task.Yield();
                throw new OperationCanceledException("token not cancelled", live.Token);
            });

            var async = await seen.Task.Within();
            Assert.IsType<OperationCanceledException>(async);
            Assert.Contains(nameof(ThrowStray), async.StackTrace);
            var sync = await seenSync.Task.Within();
            Assert.Contains(nameof(ThrowStray), sync.StackTrace);
            var notCancelled = await seenNotCancelled.Task.Within();
            Assert.Equal(live.Token, ((OperationCanceledException)notCancelled).CancellationToken);
        }
        finally
        {
            Go.UnhandledException -= handler;
        }
    }

    [Fact]
    public async Task AFaultKeepsItsOriginalStackTrace()
    {
        var seen = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        EventHandler<GoroutineExceptionEventArgs> handler = (_, e) => { if (e.Exception.Message == "fault") seen.TrySetResult(e.Exception); };
        Go.UnhandledException += handler;
        try
        {
            Go.Run(async () =>
            {
                await Go.Sleep(TimeSpan.FromMilliseconds(1));
                ThrowFault();
            });
            var e = await seen.Task.Within();
            Assert.Contains(nameof(ThrowFault), e.StackTrace);
        }
        finally
        {
            Go.UnhandledException -= handler;
        }
    }

    [Fact]
    public async Task WithNoHandlerAStrayCancellationEndsTheProcessAndNamesWhereItWasThrown()
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost("cancelled");
        Assert.Contains("cancelled quietly", stdout);
        Assert.DoesNotContain("still alive", stdout);
        Assert.NotEqual(0, code);
        Assert.Contains("weft: unhandled exception in goroutine", stderr);
        Assert.Contains("System.OperationCanceledException: stray cancellation", stderr);
        Assert.Contains("at ThrowFromMain.ThrowStrayCancellation()", stderr);
    }

    private static void ThrowStray(string message) => throw new OperationCanceledException(message);

    private static void ThrowFault() => throw new InvalidOperationException("fault");
}
