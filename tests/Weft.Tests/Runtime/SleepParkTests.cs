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
    [Fact]
    public async Task APositiveSleepWhoseDeadlinePassedBeforeItsCommit_StillLetsTheOtherGoroutinesRun()
    {
        // Go.Sleep(d > 0) always passes through the scheduler, as Go's time.Sleep always parks: a loop of work and
        // tiny sleeps must not keep its processor. Found on CI: a goroutine looping GC.Collect(); Go.Sleep(1 tick)
        // resumed in its own step at every commit (the deadline had passed), held a P for the rest of the run and
        // starved the timers in that P's heap. At MaxProcs 1 the other goroutine runs only if the sleeper yields.
        int saved = Go.MaxProcs;
        Go.MaxProcs = 1;
        try
        {
            int otherRan = 0, loops = 0;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () =>
            {
                Go.Run(() => Volatile.Write(ref otherRan, 1));
                while (Volatile.Read(ref otherRan) == 0 && loops < 100_000)
                {
                    loops++;
                    Thread.SpinWait(200); // longer than the sleep: its deadline has passed when the step ends
                    await Go.Sleep(TimeSpan.FromTicks(1));
                }
                done.SetResult();
            });
            await done.Task.Within();
            Assert.Equal(1, Volatile.Read(ref otherRan));
            Assert.Equal(1, loops); // the sleeper resumed only after the goroutine it had readied ran
        }
        finally { Go.MaxProcs = saved; }
    }
    [Fact]
    public async Task ATimerInTheHeapOfAProcessorBusyInALongStep_FiresWhileTheStepRuns()
    {
        // Go's idle Ps run the timers of other Ps (stealWork, the poller M's epoll timeout): a timer must not wait for
        // the goroutine that holds its P's M. MaxProcs 2: the sleeper's timer goes into its own P's heap, then a
        // goroutine started on that P (its runnext) spins there until the sleep has ended, or for 10 s at most. The
        // spin must be ended by the sleeper, not by its limit.
        int saved = Go.MaxProcs;
        Go.MaxProcs = 2;
        try
        {
            int stop = 0;
            bool endedBySleeper = false;
            var spun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () =>
            {
                Go.Run(() =>
                {
                    var until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
                    while (Volatile.Read(ref stop) == 0 && Stopwatch.GetTimestamp() < until) Thread.SpinWait(100);
                    endedBySleeper = Volatile.Read(ref stop) == 1;
                    spun.SetResult();
                });
                await Go.Sleep(TimeSpan.FromMilliseconds(20));
                Volatile.Write(ref stop, 1);
            });
            await spun.Task.Within();
            Assert.True(endedBySleeper, "The 20 ms sleep did not end while another goroutine held its processor's M for 10 s.");
        }
        finally { Go.MaxProcs = saved; }
    }
}
