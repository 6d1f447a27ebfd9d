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
        _clock.AdvanceToNextTimer();
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
    [InlineData(true, new[] { 100, 200, 300, 400, 500 })]  // fixed rate: a period after the previous due time
    [InlineData(false, new[] { 100, 230, 360, 490, 620 })] // fixed delay: a delay after the previous run ended
    public void Periods_CountFromDueTimeAtFixedRate_AndFromRunEndWithFixedDelay(bool fixedRate, int[] expectedStartsMs)
    {
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
        Assert.Throws<ArgumentOutOfRangeException>(() => _timers.ScheduleAtFixedRate(() => { }, TimeSpan.Zero, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => _timers.Schedule(() => { }, TimeSpan.FromSeconds(-1)));
    }
}
