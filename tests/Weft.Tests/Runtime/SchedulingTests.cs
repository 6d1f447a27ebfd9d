using System.Net;
using System.Net.Sockets;
using System.Text;
using Weft.Runtime;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>Fairness, foreign awaits and blocking handoff.</summary>
public class SchedulingTests
{
    private static async Task WithMaxProcs(int n, Func<Task> body)
    {
        int saved = Go.MaxProcs;
        Go.MaxProcs = n;
        try { await body(); }
        finally { Go.MaxProcs = saved; }
    }

    [Fact]
    public Task AGoroutineInRunnextBehindALongStepRunsAndTheOwnerKeepsItsProcessor() => WithMaxProcs(2, async () =>
    {
        // A goroutine started from a goroutine goes into its P's runnext, which only the owner touches, without
        // interlocked operations. If the owner's step then runs on without readying anything, sysmon must get it
        // run elsewhere — after a tick by taking runnext through the retake handshake
        // (Processor.TakeRunnextFromLongStep), or at the blocking threshold by retaking the whole P — and the
        // owner, at its next pin, must find out which and carry on (a retaken P's goroutines go global).
        int stolenRan = 0, ownerSawIt = 0, ownerReadiedAfter = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            Go.Run(() => Volatile.Write(ref stolenRan, 1)); // lands in this P's runnext
            var deadline = DateTime.UtcNow + TestTimeout.Default;
            while (Volatile.Read(ref stolenRan) == 0 && DateTime.UtcNow < deadline) Thread.SpinWait(50); // one long step
            ownerSawIt = Volatile.Read(ref stolenRan);
            Go.Run(() => Volatile.Write(ref ownerReadiedAfter, 1)); // pins the P again (or goes global if it was retaken)
            await Go.Yield();
            done.SetResult();
        });
        await done.Task.Within();
        await GoroutineTests.Eventually(() => Volatile.Read(ref ownerReadiedAfter) == 1);
        Assert.Equal(1, ownerSawIt);
    });

    [Fact]
    public Task GoroutinesSpinningOnYieldCannotStarveOneInTheGlobalQueue() => WithMaxProcs(1, async () =>
    {
        var stop = new CancellationTokenSource();
        int spinners = 0;
        for (int i = 0; i < 4; i++)
        {
            Go.Run(async () =>
            {
                Interlocked.Increment(ref spinners);
                while (!stop.IsCancellationRequested) await Go.Yield();
            });
        }
        await GoroutineTests.Eventually(() => Volatile.Read(ref spinners) == 4);
        // Started from a plain thread, this one lands in the global queue behind the spinners' yields.
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(() => { stop.Cancel(); ran.SetResult(); });
        await ran.Task.Within();
    });

    [Fact]
    public Task APingPongPairCannotStarveTheLocalQueue() => WithMaxProcs(1, async () =>
    {
        // Two goroutines wake each other forever; each wake lands in runnext. A third goroutine queued on the same
        // P behind them must still run: runnext is capped, and the global queue is polled every 61 ticks.
        var stop = new CancellationTokenSource();
        var thirdRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long rounds = 0;
        Go.Run(() =>
        {
            var ping = new TaskCompletionSource();
            var pong = new TaskCompletionSource();
            Go.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await ping.Task;
                    ping = new TaskCompletionSource();
                    var p = pong;
                    p.SetResult();
                }
            });
            Go.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var p = ping;
                    p.SetResult();
                    await pong.Task;
                    pong = new TaskCompletionSource();
                    Interlocked.Increment(ref rounds);
                }
            });
            Go.Run(() => { stop.Cancel(); thirdRan.SetResult(); });
        });
        await thirdRan.Task.Within();
    });

    [Fact]
    public async Task ForeignAwaitsResumeOnWeft()
    {
        string file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "hello weft");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            for (int i = 0; i < 2; i++)
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var buf = new byte[4096];
                int n = await stream.ReadAsync(buf);
                string req = Encoding.ASCII.GetString(buf, 0, n);
                string body = req.StartsWith("GET", StringComparison.Ordinal) ? "from http" : "pong";
                string resp = req.StartsWith("GET", StringComparison.Ordinal)
                    ? $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"
                    : body;
                await stream.WriteAsync(Encoding.ASCII.GetBytes(resp));
            }
        });

        var log = new List<(string what, bool onWeft)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try
            {
                log.Add(("start", OnWeft()));
                await Task.Delay(5);
                log.Add(("Task.Delay", OnWeft()));
                string text = await File.ReadAllTextAsync(file);
                Assert.Equal("hello weft", text);
                log.Add(("File.ReadAllTextAsync", OnWeft()));
                using (var sock = new TcpClient())
                {
                    await sock.ConnectAsync(IPAddress.Loopback, port);
                    log.Add(("socket connect", OnWeft()));
                    var s = sock.GetStream();
                    await s.WriteAsync(Encoding.ASCII.GetBytes("ping"));
                    var buf = new byte[16];
                    int n = await s.ReadAsync(buf);
                    Assert.Equal("pong", Encoding.ASCII.GetString(buf, 0, n));
                    log.Add(("socket read", OnWeft()));
                }
                using (var http = new HttpClient())
                {
                    string body = await http.GetStringAsync($"http://127.0.0.1:{port}/");
                    Assert.Equal("from http", body);
                    log.Add(("HttpClient", OnWeft()));
                }
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        await done.Task.Within();
        await server.Within();
        File.Delete(file);
        Assert.Equal(6, log.Count);
        Assert.All(log, e => Assert.True(e.onWeft, $"after {e.what} the goroutine ran off Weft"));
    }

    private static bool OnWeft() =>
        Machine.Current is not null && SynchronizationContext.Current is Goroutine &&
        Thread.CurrentThread.Name?.StartsWith("weft-m", StringComparison.Ordinal) == true;

    [Fact]
    public Task TwoGoroutinesBlockedInThreadSleepDoNotStopAThird() => WithMaxProcs(2, async () =>
    {
        int sleepersStarted = 0, sleepersDone = 0;
        for (int i = 0; i < 2; i++)
        {
            Go.Run(() =>
            {
                Interlocked.Increment(ref sleepersStarted);
                Thread.Sleep(1000);
                Interlocked.Increment(ref sleepersDone);
            });
        }
        await GoroutineTests.Eventually(() => Volatile.Read(ref sleepersStarted) == 2);
        // Both Ps are now held by Ms stuck in Thread.Sleep. Sysmon must hand them to other Ms.
        var progress = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            for (int i = 0; i < 100; i++) await Go.Yield();
            progress.SetResult(Volatile.Read(ref sleepersDone));
        });
        int doneWhenThirdFinished = await progress.Task.Within();
        Assert.Equal(0, doneWhenThirdFinished);
        Assert.True(Scheduler.Retakes > 0, "sysmon handed at least one P over");
        await GoroutineTests.Eventually(() => Volatile.Read(ref sleepersDone) == 2);
    });

    [Fact]
    public Task GoBlockingReleasesTheProcessorAtOnce() => WithMaxProcs(1, async () =>
    {
        var inside = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var blockingDone = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(() =>
        {
            int r = Go.Blocking(() =>
            {
                inside.Set();
                release.Wait(TimeSpan.FromSeconds(20));
                return 42;
            });
            blockingDone.SetResult(r);
        });
        await Task.Run(() => inside.Wait(TimeSpan.FromSeconds(20)));
        var other = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () => { await Go.Yield(); other.SetResult(); });
        await other.Task.Within();
        Assert.False(blockingDone.Task.IsCompleted);
        release.Set();
        Assert.Equal(42, await blockingDone.Task.Within());
    });

    [Fact]
    public async Task GoBlockingPropagatesExceptionsAndWorksOffWeft()
    {
        Assert.Equal(7, Go.Blocking(() => 7));
        Assert.Throws<InvalidOperationException>(() => Go.Blocking(() => throw new InvalidOperationException("x")));
        var r = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(() =>
        {
            try { Go.Blocking(() => throw new FormatException("inside")); r.SetResult(null); }
            catch (Exception ex) { r.SetResult(ex); }
        });
        Assert.IsType<FormatException>(await r.Task.Within());
    }
}
