using Weft.Testing;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// A goroutine learns that its body finished without hooking every body at start (Goroutine.cs, "Watching the body"):
/// whichever way the body parks, resumes and ends (directly on a Weft wait, through an inner async method, on a
/// foreign task, after ConfigureAwait(false) on a pool thread), it leaves the live set exactly once and its
/// exception is reported exactly once. Each test starts its goroutines under a file name of its own and counts them
/// in <see cref="Go.Dump()"/>, so tests running in parallel do not disturb the count.
/// </summary>
public class BodyWatchTests
{
    private static string Site() => "bodywatch-" + Guid.NewGuid().ToString("N");

    private static int Live(string site)
    {
        int n = 0;
        foreach (var line in Go.Dump().Split('\n'))
            if (line.Contains(site, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>How many of the site's goroutines are parked (a step ended with them waiting).</summary>
    private static int Parked(string site)
    {
        int n = 0;
        foreach (var line in Go.Dump().Split('\n'))
            if (line.Contains(site, StringComparison.Ordinal) && line.Contains("[waiting", StringComparison.Ordinal)) n++;
        return n;
    }

    private static Task AllEnded(string site) => GoroutineTests.Eventually(() => Live(site) == 0);

    /// <summary>Counts the unhandled exceptions whose message is <c>message</c> while the returned scope lives.</summary>
    private sealed class Reports : IDisposable
    {
        private readonly string _message;
        private int _count;
        private readonly EventHandler<GoroutineExceptionEventArgs> _handler;

        public Reports(string message)
        {
            _message = message;
            _handler = (_, e) => { if (e.Exception.Message == _message) Interlocked.Increment(ref _count); };
            Go.UnhandledException += _handler;
        }

        public int Count => Volatile.Read(ref _count);

        public void Dispose() => Go.UnhandledException -= _handler;
    }

    [Fact]
    public async Task ABodyParkedDirectlyOnAReceive_EndsWhenTheValueArrives()
    {
        string site = Site();
        var ch = new Chan<int>();
        var got = new Chan<int>(100);
        for (int i = 0; i < 100; i++)
            Go.Run(async () => await got.SendAsync(await ch.ReceiveAsync()), site);
        await GoroutineTests.Eventually(() => Parked(site) == 100);
        for (int i = 0; i < 100; i++) await ch.SendAsync(i).AsTask().Within();
        var seen = new bool[100];
        for (int i = 0; i < 100; i++)
        {
            int v = await got.ReceiveAsync().AsTask().Within();
            Assert.False(seen[v], $"value {v} received twice");
            seen[v] = true;
        }
        await AllEnded(site);
    }

    [Fact]
    public async Task ABodyParkedInAnInnerAsyncMethod_EndsWhenTheInnerMethodReturns()
    {
        string site = Site();
        var ch = new Chan<int>();
        var done = new Chan<int>(10);
        static async Task<int> Inner(Chan<int> c) => await c.ReceiveAsync() + 1;
        for (int i = 0; i < 10; i++)
            Go.Run(async () => done.Send(await Inner(ch)), site);
        for (int i = 0; i < 10; i++) await ch.SendAsync(i).AsTask().Within();
        int sum = 0;
        for (int i = 0; i < 10; i++) sum += await done.ReceiveAsync().AsTask().Within();
        Assert.Equal(Enumerable.Range(1, 10).Sum(), sum);
        await AllEnded(site);
    }

    [Fact]
    public async Task ABodyThatFinishesOnAPoolThreadAfterConfigureAwaitFalse_Ends()
    {
        string site = Site();
        var ch = new Chan<int>();
        int finished = 0;
        for (int i = 0; i < 20; i++)
        {
            Go.Run(async () =>
            {
                await ch.ReceiveAsync(); // parks directly: no hook yet
                await Task.Delay(1).ConfigureAwait(false); // the rest runs on a pool thread
                Assert.Null(Weft.Runtime.Goroutine.Current);
                Interlocked.Increment(ref finished);
            }, site);
        }
        for (int i = 0; i < 20; i++) await ch.SendAsync(i).AsTask().Within();
        await GoroutineTests.Eventually(() => Volatile.Read(ref finished) == 20);
        await AllEnded(site);
    }

    [Fact]
    public async Task ABodyThatAwaitsAWeftWaitWithConfigureAwaitFalse_Ends()
    {
        string site = Site();
        var ch = new Chan<int>();
        int finished = 0;
        for (int i = 0; i < 20; i++)
        {
            Go.Run(async () =>
            {
                await ch.ReceiveAsync().ConfigureAwait(false); // not this goroutine's park: watched at once
                Interlocked.Increment(ref finished);
            }, site);
        }
        await GoroutineTests.Eventually(() => Parked(site) == 20);
        for (int i = 0; i < 20; i++) await ch.SendAsync(i).AsTask().Within();
        await GoroutineTests.Eventually(() => Volatile.Read(ref finished) == 20);
        await AllEnded(site);
    }

    [Fact]
    public async Task ABodyWhoseInnerMethodParksHere_ButWhichResumesOnAPoolThread_Ends()
    {
        // The step parks on a wait of this goroutine (the inner method's), yet the body itself is not suspended on it:
        // the inner method's completion resumes the body on a pool thread, where it ends, outside any step.
        string site = Site();
        string message = "thrown after an inner park " + site;
        using var reports = new Reports(message);
        var ch = new Chan<int>();
        int finished = 0;
        static async Task<int> Inner(Chan<int> c) => await c.ReceiveAsync();
        for (int i = 0; i < 10; i++)
        {
            bool fail = i % 2 == 0;
            Go.Run(async () =>
            {
                await Inner(ch).ConfigureAwait(false);
                if (fail) throw new InvalidOperationException(message);
                Interlocked.Increment(ref finished);
            }, site);
        }
        await GoroutineTests.Eventually(() => Parked(site) == 10);
        for (int i = 0; i < 10; i++) await ch.SendAsync(i).AsTask().Within();
        await GoroutineTests.Eventually(() => Volatile.Read(ref finished) == 5 && reports.Count == 5);
        await AllEnded(site);
        await Task.Delay(50);
        Assert.Equal(5, reports.Count);
    }

    [Fact]
    public async Task ABodyThatEndsOnAPoolThreadWhileAForkedTaskHoldsTheGoroutinesPark_Ends()
    {
        // The step parks on a wait of this goroutine that a forked inner method awaits; the body itself waits on a
        // foreign task with ConfigureAwait(false) and ends on a pool thread, with no step of its goroutine between.
        string site = Site();
        string message = "thrown beside a forked park " + site;
        using var reports = new Reports(message);
        var ch = new Chan<int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int finished = 0;
        static async Task<int> Inner(Chan<int> c) => await c.ReceiveAsync();
        for (int i = 0; i < 10; i++)
        {
            bool fail = i % 2 == 0;
            Go.Run(async () =>
            {
                _ = Inner(ch); // first to park in this step: the goroutine's park is the inner method's
                await release.Task.ConfigureAwait(false);
                if (fail) throw new InvalidOperationException(message);
                Interlocked.Increment(ref finished);
            }, site);
        }
        await GoroutineTests.Eventually(() => Parked(site) == 10);
        release.SetResult();
        await GoroutineTests.Eventually(() => Volatile.Read(ref finished) == 5 && reports.Count == 5);
        await AllEnded(site);
        for (int i = 0; i < 10; i++) await ch.SendAsync(i).AsTask().Within(); // the forked receives still complete
        await Task.Delay(50);
        Assert.Equal(5, reports.Count);
    }

    [Fact]
    public async Task ABodyThatThrowsAfterParkingDirectly_IsReportedExactlyOnce()
    {
        string site = Site();
        string message = "thrown after a direct park " + site;
        using var reports = new Reports(message);
        var ch = new Chan<int>();
        const int N = 10;
        for (int i = 0; i < N; i++)
        {
            Go.Run(async () =>
            {
                await ch.ReceiveAsync();
                throw new InvalidOperationException(message);
            }, site);
        }
        for (int i = 0; i < N; i++) await ch.SendAsync(i).AsTask().Within();
        await GoroutineTests.Eventually(() => reports.Count == N);
        await AllEnded(site);
        await Task.Delay(50); // a second report of the same goroutine would come from a hook: give it a moment
        Assert.Equal(N, reports.Count);
    }

    [Fact]
    public async Task ABodyThatThrowsOnAPoolThread_IsReportedExactlyOnce()
    {
        string site = Site();
        string message = "thrown on a pool thread " + site;
        using var reports = new Reports(message);
        var ch = new Chan<int>();
        const int N = 10;
        for (int i = 0; i < N; i++)
        {
            Go.Run(async () =>
            {
                await ch.ReceiveAsync();
                await Task.Yield();
                await Task.Delay(1).ConfigureAwait(false);
                throw new InvalidOperationException(message);
            }, site);
        }
        for (int i = 0; i < N; i++) await ch.SendAsync(i).AsTask().Within();
        await GoroutineTests.Eventually(() => reports.Count == N);
        await AllEnded(site);
        await Task.Delay(50);
        Assert.Equal(N, reports.Count);
    }

    [Fact]
    public async Task ABodyParkedOnSelectSleepAndMutex_EndsEachTime()
    {
        string site = Site();
        var a = new Chan<int>();
        var never = new Chan<int>();
        var mu = new Weft.Sync.Mutex();
        int finished = 0;
        mu.Lock();
        for (int i = 0; i < 10; i++)
        {
            Go.Run(async () =>
            {
                await Go.Sleep(TimeSpan.FromMilliseconds(1));
                var sel = new Select();
                sel.Receive(a);
                sel.Receive(never);
                await sel.WaitAsync();
                await mu.LockAsync();
                mu.Unlock();
                Interlocked.Increment(ref finished);
            }, site);
        }
        for (int i = 0; i < 10; i++) await a.SendAsync(i).AsTask().Within();
        mu.Unlock();
        await GoroutineTests.Eventually(() => Volatile.Read(ref finished) == 10);
        await AllEnded(site);
    }

    [Fact]
    public async Task ABodyThatEndsWithoutParking_AndOneWhoseFirstAwaitCompletesAtOnce_End()
    {
        string site = Site();
        var ready = new Chan<int>(1);
        ready.Send(1);
        var never = new Chan<int>();
        Go.Run(async () => { await ready.ReceiveAsync(); }, site); // completes synchronously
        Go.Run(async () => { await Task.CompletedTask; }, site);
        Go.Run(() => { }, site);
        await AllEnded(site);
        never.Close();
    }

    [Fact]
    public async Task InABubble_ABodyParkedDirectlyEnds_AndTheBubbleSeesNoDeadlock()
    {
        await Bubble.Run(async () =>
        {
            var ch = new Chan<int>();
            var results = new Chan<int>(3);
            Go.Run(async () => await results.SendAsync(await ch.ReceiveAsync()));
            Go.Run(async () => { await Go.Sleep(TimeSpan.FromSeconds(5)); await results.SendAsync(7); });
            Go.Run(async () =>
            {
                await ch.ReceiveAsync();
                await Task.Yield();
                await results.SendAsync(9);
            });
            await ch.SendAsync(1);
            await ch.SendAsync(2);
            int sum = 0;
            for (int i = 0; i < 3; i++) sum += await results.ReceiveAsync();
            Assert.True(sum is 1 + 7 + 9 or 2 + 7 + 9, $"sum {sum}");
        }).Within();
    }
}
