using System.Diagnostics;
using Weft.Runtime;
using Weft.Testing;
using Xunit;
using static Weft.Tests.Sync.MutexParkTests;

namespace Weft.Tests.Runtime;

/// <summary>
/// A goroutine's Go.Sleep parks with a commit (Runtime/Sleep.cs): the step's end adds the timer, and the Fire, the
/// token's callback or a poster's claim settle who resumes it on the node's state word. These pin: a post to a
/// sleeping goroutine runs while it sleeps (its claim takes the timer out and the next commit puts it back, so the
/// sleep still ends at its deadline, exactly, in virtual time); a huge or infinite sleep claimed back the same way;
/// cancellations racing the Fire, each sleep ending exactly once; sleeps under a post storm never ending early; and a
/// sleep its step does not park on (ConfigureAwait(false), AsTask) still ends.
/// </summary>
public class SleepParkTests
{
    [Fact]
    public async Task APostToASleepingGoroutine_RunsWhileItSleeps_AndTheSleepStillEndsAtItsDeadline()
    {
        await Bubble.Run(async b =>
        {
            SynchronizationContext? context = null;
            Goroutine? sleeper = null;
            DateTimeOffset? woke = null;
            int posts = 0, timersDuringPost = -1;
            bool sleptDuringPost = false;
            Go.Run(async () =>
            {
                sleeper = Goroutine.Current;
                context = SynchronizationContext.Current;
                await Go.Sleep(TimeSpan.FromHours(1));
                woke = b.Now;
            });
            await b.WaitIdleAsync();
            Assert.True(sleeper!.ParkedOn is SleepNode { State: SleepNode.Armed }, "An uncancellable sleep parks with a commit.");
            Assert.Equal(1, b.Core.Timers.Count);
            for (int i = 0; i < 3; i++)
            {
                context!.Post(_ =>
                {
                    sleptDuringPost = woke is null;
                    timersDuringPost = b.Core.Timers.Count; // the claim took the timer out; the next commit puts it back
                    posts++;
                }, null);
                await b.WaitIdleAsync();
                Assert.True(sleptDuringPost);
                Assert.Equal(0, timersDuringPost);
                Assert.True(sleeper.ParkedOn is SleepNode { State: SleepNode.Armed }, "The sleep is committed again after the post.");
                Assert.Equal(1, b.Core.Timers.Count);
            }
            await Go.Sleep(TimeSpan.FromHours(2));
            Assert.Equal(3, posts);
            Assert.Equal(Bubble.Epoch + TimeSpan.FromHours(1), woke); // exactly the deadline: the claims did not move it
            Assert.Equal(0, b.Core.Timers.Count);
        }).Within();
    }

    [Fact]
    public async Task APostToAGoroutineInAHugeOrInfiniteSleep_RunsWhileItSleeps_ThenTheTokenEndsItOnce()
    {
        foreach (var duration in new[] { TimeSpan.MaxValue, Timeout.InfiniteTimeSpan })
        {
            using var cts = new CancellationTokenSource();
            SynchronizationContext? context = null;
            Goroutine? sleeper = null;
            int posts = 0, ends = 0;
            Exception? ended = null;
            var g = ParkProtocolTests.RunGoroutine(async () =>
            {
                Volatile.Write(ref sleeper, Goroutine.Current);
                Volatile.Write(ref context, SynchronizationContext.Current);
                try { await Go.Sleep(duration, cts.Token); }
                catch (Exception e) { ended = e; }
                Interlocked.Increment(ref ends);
            });
            WaitUntil(() => Volatile.Read(ref sleeper)?.ParkedOn is SleepNode { State: SleepNode.Armed }, "the sleep is committed");
            Volatile.Read(ref context)!.Post(_ => Interlocked.Increment(ref posts), null);
            WaitUntil(() => Volatile.Read(ref posts) == 1, "the post ran while the goroutine sleeps");
            WaitUntil(() => sleeper!.ParkedOn is SleepNode { State: SleepNode.Armed }, "the sleep is committed again");
            Assert.Equal(0, Volatile.Read(ref ends));
            cts.Cancel();
            await g.Within();
            Assert.Equal(1, ends);
            Assert.IsAssignableFrom<OperationCanceledException>(ended);
        }
    }

    [Fact]
    public async Task SleepsRacingTheirCancellation_InGoroutinesAndPlainAsyncCode_EachEndExactlyOnce()
    {
        const int sleepers = 8;
        int rounds = Stress.Scale(300);
        int fired = 0, cancelled = 0, early = 0;
        var starts = new int[sleepers];
        var ends = new int[sleepers];

        async Task Sleeper(int i)
        {
            var random = new Random(i);
            for (int r = 0; r < rounds; r++)
            {
                using var cts = new CancellationTokenSource();
                var d = TimeSpan.FromMilliseconds(random.Next(0, 3));
                var canceller = Task.Run(async () =>
                {
                    await Task.Yield();
                    if (random.Next(2) == 0) Thread.SpinWait(random.Next(2_000));
                    cts.Cancel();
                });
                long start = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref starts[i]);
                try
                {
                    await Go.Sleep(d, cts.Token);
                    if (Stopwatch.GetElapsedTime(start) < d) Interlocked.Increment(ref early);
                    Interlocked.Increment(ref fired);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                }
                Interlocked.Increment(ref ends[i]);
                await canceller;
            }
        }

        var tasks = Enumerable.Range(0, sleepers).Select(i => i % 2 == 0 ? ParkProtocolTests.RunGoroutine(() => Sleeper(i)) : Task.Run(() => Sleeper(i)));
        await Task.WhenAll(tasks).Within();
        Assert.Equal(starts, ends);
        Assert.Equal(sleepers * rounds, fired + cancelled);
        Assert.Equal(0, early);
    }

    [Fact]
    public async Task SleepingGoroutinesUnderAPostStorm_EachSleepEndsOnceAndNeverEarly()
    {
        const int goroutines = 6;
        int sleeps = Stress.Scale(30);
        int early = 0, ended = 0;
        await UnderPostStorm(goroutines, async i =>
        {
            for (int j = 0; j < sleeps; j++)
            {
                var d = TimeSpan.FromMilliseconds(1 + (i + j) % 3);
                long start = Stopwatch.GetTimestamp();
                await Go.Sleep(d);
                if (Stopwatch.GetElapsedTime(start) < d) Interlocked.Increment(ref early);
                Interlocked.Increment(ref ended);
            }
        });
        Assert.Equal(0, early);
        Assert.Equal(goroutines * sleeps, ended);
    }

    [Fact]
    public async Task ASleepItsStepDoesNotParkOn_IsStartedAnywayAndEnds()
    {
        // ConfigureAwait(false) and AsTask await the sleep some other way than the step's park: its timer is added at
        // once (a loose commit), and the sleep ends like any other.
        int ends = 0;
        var g = ParkProtocolTests.RunGoroutine(async () =>
        {
            await Go.Sleep(TimeSpan.FromMilliseconds(2)).ConfigureAwait(false);
            Interlocked.Increment(ref ends);
            await Task.WhenAll(Go.Sleep(TimeSpan.FromMilliseconds(2)).AsTask(), Task.Delay(1));
            Interlocked.Increment(ref ends);
        });
        await g.Within();
        Assert.Equal(2, ends);
    }
}
