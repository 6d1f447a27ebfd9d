using Weft.Threading;
using Xunit;

namespace Weft.Tests.Threading;

/// <summary>
/// <see cref="ScheduledExecutor"/> on a virtual clock: runs are counted and their start times read from the clock,
/// so periods are checked exactly without depending on real time.
/// </summary>
public sealed class ScheduledExecutorTests : IDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RunTakes = TimeSpan.FromMilliseconds(30);

    private readonly ManualTimeProvider _clock = new();
    private readonly ScheduledExecutor _timers;

    public ScheduledExecutorTests() => _timers = new ScheduledExecutor(timeProvider: _clock, name: "sched-test");

    public void Dispose() => _timers.ShutdownNow();

    /// <summary>Fires the next timer and waits until the run it started has finished.</summary>
    private void StepOneRun(ScheduledTask task)
    {
        long before = task.RunCount;
        // A timer that fired early is armed again for the rest (synchronously, inside the firing) instead of
        // starting a run: fire timers until one starts the run (the timer is then disarmed until the run returns).
        // Read the timer first: the run that a timer handed to the pool counts itself before it re-arms, so a timer
        // seen armed with the count unchanged after it is the early one's re-arm. Read the other way round, a run
        // that finished and re-armed between the two reads looked early, and the next timer fired before its time.
        do _clock.AdvanceToNextTimer();
        while (_clock.ArmedTimers == 1 && task.RunCount == before);
        // The run count moves before a periodic task re-arms its timer: wait for both, or the next step could find
        // no timer armed yet and advance the clock wrongly.
        Wait.Until(() => task.RunCount == before + 1 && (_clock.ArmedTimers == 1 || task.Completion.IsCompleted),
            $"run {before + 1} finished and the next one armed");
    }

    [Fact(Timeout = 30_000)]
    public async Task Schedule_RunsOnceAfterTheDelay()
    {
        int runs = 0;
        ScheduledTask task = _timers.Schedule(() => Interlocked.Increment(ref runs), Period);
        _clock.Advance(Period - TimeSpan.FromTicks(1));
        Assert.Equal(0, task.RunCount); // not due: no timer fired
        _clock.Advance(TimeSpan.FromTicks(1));
        await task.Completion.WaitAsync(Wait.Limit);
        Assert.Equal((1L, 1), (task.RunCount, runs));
        Assert.False(task.IsPeriodic);
        Assert.Equal(0, _clock.ArmedTimers);
    }

    [Theory]
    [InlineData(true, 0, new[] { 100, 200, 300, 400, 500 })]  // fixed rate: a period after the previous due time
    [InlineData(false, 0, new[] { 100, 230, 360, 490, 620 })] // fixed delay: a delay after the previous run ended
    [InlineData(true, 3, new[] { 100, 200, 300, 400, 500 })]  // bug 7: timers that fire 3 ms early change nothing
    [InlineData(false, 3, new[] { 100, 230, 360, 490, 620 })]
    public void Periods_CountFromDueTimeAtFixedRate_AndFromRunEndWithFixedDelay(bool fixedRate, int earlyMs, int[] expectedStartsMs)
    {
        _clock.FiresEarlyBy = TimeSpan.FromMilliseconds(earlyMs);
        var starts = new List<TimeSpan>();
        Action run = () =>
        {
            starts.Add(_clock.Elapsed);
            _clock.Advance(RunTakes); // each run takes 30 ms of virtual time
        };
        ScheduledTask task = fixedRate
            ? _timers.ScheduleAtFixedRate(run, Period, Period)
            : _timers.ScheduleWithFixedDelay(run, Period, Period);
        for (int i = 0; i < 5; i++) StepOneRun(task);
        Assert.Equal(expectedStartsMs, starts.Select(t => (int)t.TotalMilliseconds));
        Assert.Equal(5, task.RunCount);
    }

    /// <summary>
    /// Bug 7: a one-shot whose timer fires 3 ms before the due time (as the system timer did under load) is not run
    /// then: the timer is armed again for the rest, and the run starts exactly at the due time.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task Schedule_WhenTheTimerFiresEarly_IsArmedAgain_AndNeverRunsBeforeTheDueTime()
    {
        _clock.FiresEarlyBy = TimeSpan.FromMilliseconds(3);
        TimeSpan? startedAt = null;
        ScheduledTask task = _timers.Schedule(() => startedAt = _clock.Elapsed, Period);
        _clock.Advance(Period - TimeSpan.FromMilliseconds(3)); // the timer fires here, 3 ms early
        Assert.Equal(1, _clock.ArmedTimers);                   // armed again for the rest: no run was handed over
        Assert.Equal(0, task.RunCount);
        _clock.Advance(TimeSpan.FromMilliseconds(3) - TimeSpan.FromTicks(1));
        Assert.Equal(1, _clock.ArmedTimers);
        _clock.Advance(TimeSpan.FromTicks(1));
        await task.Completion.WaitAsync(Wait.Limit);
        Assert.Equal(Period, startedAt);
        Assert.Equal(1, task.RunCount);
    }

    /// <summary>
    /// Delays and periods saturate (issue 13, bug 3 for the executors): TimeSpan.MaxValue means never, not an
    /// overflow into "now"; a delay longer than the system timer accepts (about 49.7 days) is waited out in pieces.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task HugeDelays_MeanNever_AndLongOnesAreWaitedOutExactly()
    {
        var never = _timers.Schedule(() => { }, TimeSpan.MaxValue);
        var neverFirst = _timers.ScheduleAtFixedRate(() => { }, TimeSpan.MaxValue, Period);
        var onceAtRate = _timers.ScheduleAtFixedRate(() => { }, Period, TimeSpan.MaxValue);
        var onceWithDelay = _timers.ScheduleWithFixedDelay(() => { }, Period, TimeSpan.MaxValue);
        TimeSpan sixtyDays = TimeSpan.FromDays(60);
        TimeSpan? longStart = null;
        var longOne = _timers.Schedule(() => longStart = _clock.Elapsed, sixtyDays);

        _clock.Advance(Period);
        Wait.Until(() => onceAtRate.RunCount == 1 && onceWithDelay.RunCount == 1, "the two periodic schedules ran once");
        _clock.Advance(sixtyDays - Period - TimeSpan.FromTicks(1));
        Assert.Equal(0, longOne.RunCount);
        _clock.Advance(TimeSpan.FromTicks(1));
        await longOne.Completion.WaitAsync(Wait.Limit);
        Assert.Equal(sixtyDays, longStart);

        _clock.Advance(TimeSpan.FromDays(100_000)); // about 274 years
        Assert.Equal((0L, 0L, 1L, 1L), (never.RunCount, neverFirst.RunCount, onceAtRate.RunCount, onceWithDelay.RunCount));
        Assert.All(new[] { never, neverFirst, onceAtRate, onceWithDelay }, t => Assert.False(t.Completion.IsCompleted));
        Assert.All(new[] { never, neverFirst, onceAtRate, onceWithDelay }, t => Assert.True(t.Cancel()));
    }

    [Fact(Timeout = 30_000)]
    public async Task OnTheSystemClock_AHugeDelayIsAcceptedAndNeverRuns()
    {
        using var timers = new ScheduledExecutor(name: "sched-huge");
        ScheduledTask task = timers.Schedule(() => { }, TimeSpan.MaxValue);
        ScheduledTask periodic = timers.ScheduleWithFixedDelay(() => { }, TimeSpan.FromDays(365 * 1000), TimeSpan.MaxValue);
        Assert.False(task.Completion.IsCompleted);
        Assert.True(task.Cancel());
        Assert.True(periodic.Cancel());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.Completion.WaitAsync(Wait.Limit));
        Assert.Equal((0L, 0L), (task.RunCount, periodic.RunCount));
    }

    /// <summary>
    /// Bug 7 on the real clock, as an invariant: no run starts before its due time. One-shots of 1 to 20 ms, a fixed
    /// delay (from the end of each run, as the run itself last read the clock) and a fixed rate (from the schedule
    /// call) are checked against stamps taken before the executor's own, so every bound is on the safe side. The
    /// system timer counts on a coarse clock: before the fix some runs started up to a few milliseconds early.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task OnTheSystemClock_NoRunStartsBeforeItsDueTime()
    {
        using var timers = new ScheduledExecutor(threadCount: 2, name: "sched-due");
        var clock = TimeProvider.System;
        var early = new System.Collections.Concurrent.ConcurrentBag<string>();

        var oneShots = new List<Task>();
        for (int i = 0; i < 200; i++)
        {
            var delay = TimeSpan.FromMilliseconds(1 + i % 20) + TimeSpan.FromTicks(i * 37 % 10_000);
            long scheduledAt = clock.GetTimestamp();
            oneShots.Add(timers.Schedule(() =>
            {
                TimeSpan waited = clock.GetElapsedTime(scheduledAt);
                if (waited < delay) early.Add($"a one-shot of {delay} started after {waited}");
            }, delay).Completion);
        }

        var period = TimeSpan.FromMilliseconds(10);
        long lastEnd = 0;
        int delayRuns = 0;
        using var delayDone = new ManualResetEventSlim();
        ScheduledTask fixedDelay = timers.ScheduleWithFixedDelay(() =>
        {
            if (lastEnd != 0 && clock.GetElapsedTime(lastEnd) is var gap && gap < period)
                early.Add($"a fixed-delay run started {gap} after the previous one ended");
            if (++delayRuns == 30) delayDone.Set();
            lastEnd = clock.GetTimestamp(); // before the executor reads the clock for the next due time
        }, TimeSpan.Zero, period);

        long rateOrigin = clock.GetTimestamp();
        int rateRuns = 0;
        using var rateDone = new ManualResetEventSlim();
        ScheduledTask fixedRate = timers.ScheduleAtFixedRate(() =>
        {
            TimeSpan due = rateRuns * period, at = clock.GetElapsedTime(rateOrigin);
            if (at < due) early.Add($"fixed-rate run {rateRuns} started at {at}, due at {due}");
            if (++rateRuns == 30) rateDone.Set();
        }, TimeSpan.Zero, period);

        await Task.WhenAll(oneShots).WaitAsync(TimeSpan.FromSeconds(30));
        Wait.For(delayDone, "30 fixed-delay runs");
        Wait.For(rateDone, "30 fixed-rate runs");
        fixedDelay.Cancel();
        fixedRate.Cancel();
        Assert.Empty(early);
    }

    [Fact]
    public void FixedRate_RunsMissedPeriodsBackToBack_ThenKeepsTheRate()
    {
        ScheduledTask task = _timers.ScheduleAtFixedRate(() => { }, Period, Period);
        _clock.Advance(TimeSpan.FromMilliseconds(350)); // due at 100, 200 and 300 are all past
        Wait.Until(() => task.RunCount == 3 && _clock.ArmedTimers == 1, "three catch-up runs, then the timer re-armed");
        _clock.Advance(TimeSpan.FromMilliseconds(49));
        Assert.Equal(3, task.RunCount);                  // the next is due at 400, not 450
        StepOneRun(task);
        Assert.Equal(400, (int)_clock.Elapsed.TotalMilliseconds);
    }

    [Fact(Timeout = 30_000)]
    public async Task AnExceptionStopsLaterRuns_AndIsReportedThroughCompletion()
    {
        ScheduledTask task = _timers.ScheduleAtFixedRate(() =>
        {
            if (_clock.Elapsed >= TimeSpan.FromMilliseconds(300)) throw new InvalidOperationException("third run fails");
        }, Period, Period);
        for (int i = 0; i < 3; i++) StepOneRun(task);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => task.Completion.WaitAsync(Wait.Limit));
        Assert.Equal("third run fails", e.Message);
        _clock.Advance(10 * Period);
        Assert.Equal(3, task.RunCount);
        Assert.Equal(0, _clock.ArmedTimers);
        Assert.Equal(1, await _timers.Executor.Submit(() => 1).WaitAsync(Wait.Limit)); // the pool is still healthy
    }

    [Fact(Timeout = 30_000)]
    public async Task Cancel_StopsLaterRuns()
    {
        ScheduledTask task = _timers.ScheduleWithFixedDelay(() => { }, Period, Period);
        StepOneRun(task);
        StepOneRun(task);
        Wait.Until(() => _clock.ArmedTimers == 1, "the third run is timed");
        Assert.True(task.Cancel());
        Assert.False(task.Cancel());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.Completion.WaitAsync(Wait.Limit));
        _clock.Advance(10 * Period);
        Assert.Equal(2, task.RunCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task Shutdown_CancelsPeriodicSchedules_ButRunsDelayedOnes_ThenTerminates()
    {
        ScheduledTask periodic = _timers.ScheduleAtFixedRate(() => { }, Period, Period);
        ScheduledTask delayed = _timers.Schedule(() => { }, 3 * Period);
        _timers.Shutdown();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => periodic.Completion.WaitAsync(Wait.Limit));
        Assert.Throws<RejectedExecutionException>(() => _timers.Schedule(() => { }, Period));
        Assert.False(await _timers.AwaitTerminationAsync(TimeSpan.Zero)); // the delayed one is still to run
        _clock.Advance(3 * Period);
        await delayed.Completion.WaitAsync(Wait.Limit);
        Assert.True(await _timers.AwaitTerminationAsync(Wait.Limit));
        Assert.Equal(0, periodic.RunCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task OnTheSystemClock_FixedRateRunsRepeatedly()
    {
        using var timers = new ScheduledExecutor(name: "sched-system");
        using var ran = new SemaphoreSlim(0);
        ScheduledTask task = timers.ScheduleAtFixedRate(() => ran.Release(), TimeSpan.Zero, TimeSpan.FromMilliseconds(5));
        for (int i = 0; i < 3; i++) Assert.True(await ran.WaitAsync(Wait.Limit));
        task.Cancel();
        timers.Shutdown();
        Assert.True(await timers.AwaitTerminationAsync(Wait.Limit));
        Assert.True(task.RunCount >= 3);
    }

    [Fact]
    public void BadArguments_AreClearErrors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScheduledExecutor(threadCount: 0));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _timers.ScheduleAtFixedRate(() => { }, TimeSpan.Zero, TimeSpan.Zero));
        Assert.Equal("period", e.ParamName);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => _timers.ScheduleWithFixedDelay(() => { }, TimeSpan.Zero, -Period));
        Assert.Equal("delay", e.ParamName);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => _timers.Schedule(() => { }, TimeSpan.FromSeconds(-1)));
        Assert.Equal("delay", e.ParamName);
        Assert.Contains("zero or more", e.Message);
        // Negative is an error, as documented (Java would treat it as zero); Timeout.InfiniteTimeSpan is negative too.
        e = Assert.Throws<ArgumentOutOfRangeException>(() => _timers.ScheduleAtFixedRate(() => { }, Timeout.InfiniteTimeSpan, Period));
        Assert.Equal("initialDelay", e.ParamName);
        Assert.Equal(0, _clock.ArmedTimers); // nothing was left behind
    }
}
