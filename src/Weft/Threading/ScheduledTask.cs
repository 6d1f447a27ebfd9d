namespace Weft.Threading;

/// <summary>
/// One schedule on a <see cref="ScheduledExecutor"/>: a delayed action, or an action repeated at a fixed rate or
/// with a fixed delay. Its <see cref="Completion"/> reports how the schedule ended.
/// </summary>
/// <remarks>
/// <para>Runs of one schedule never overlap: the next run is timed only after the current one returns. At a fixed
/// rate, run n is due at initialDelay + n x period from scheduling; a late run starts at once, and the runs it missed
/// are run back to back (Java's catch-up). With a fixed delay, each run is due one delay after the previous one
/// returned. As in Java, a run that throws ends the schedule: no later run happens and <see cref="Completion"/>
/// faults with that exception.</para>
/// <para>A run never starts before its due time, as read from the executor's <see cref="TimeProvider"/> (Java's
/// promise). The underlying timer may fire early (the system timer counts on a coarse clock, a few milliseconds
/// apart on Linux); a timer that fires before the due time is armed again for the rest. A due time beyond
/// <see cref="TimeSpan.MaxValue"/> from scheduling saturates there and means never: such a schedule stays pending
/// until it is canceled.</para>
/// </remarks>
public sealed class ScheduledTask
{
    private static readonly TimerCallback s_fire = static state => ((ScheduledTask)state!).Fire();

    // The longest due time System.Threading.Timer accepts (0xFFFFFFFE ms, about 49.7 days). A longer wait is armed
    // in pieces of at most this: each early firing is caught by the due-time check in Fire and re-armed.
    private static readonly TimeSpan s_maxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>The due time that means never: <see cref="TimeSpan.MaxValue"/>, where every addition saturates.</summary>
    internal static readonly TimeSpan Never = TimeSpan.MaxValue;

    private readonly ScheduledExecutor _owner;
    private readonly Action _action;
    private readonly Action _run;           // cached, so a period allocates nothing
    private readonly TimeSpan _period;      // zero for a one-shot
    private readonly bool _fixedRate;
    private readonly TimeProvider _clock;
    private readonly long _origin;          // timestamp at scheduling; fixed-rate due times count from it
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private ITimer? _timer;                 // guarded by _gate; null once the schedule has ended
    private TimeSpan _nextDue;              // guarded by _gate: the next run's due time, as an offset from _origin; Never saturates
    private long _runCount;                 // Interlocked

    internal ScheduledTask(ScheduledExecutor owner, Action action, TimeSpan initialDelay, TimeSpan period,
                           bool fixedRate, TimeProvider clock)
    {
        _owner = owner;
        _action = action;
        _run = Run;
        _period = period;
        _fixedRate = fixedRate;
        _clock = clock;
        _origin = clock.GetTimestamp();
        _nextDue = initialDelay;
    }

    /// <summary>
    /// Completes when the schedule ends: successfully after a one-shot's run, faulted with the exception of the run
    /// that threw, canceled by <see cref="Cancel"/> or by the executor's shutdown. A periodic schedule that nobody
    /// cancels never completes successfully.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>How many runs have returned or thrown so far.</summary>
    public long RunCount => Interlocked.Read(ref _runCount);

    /// <summary>True for fixed-rate and fixed-delay schedules.</summary>
    public bool IsPeriodic => _period > TimeSpan.Zero;

    /// <summary>
    /// Stops later runs and cancels <see cref="Completion"/>. A run already in progress finishes (Java's
    /// <c>cancel(false)</c>).
    /// </summary>
    /// <returns>True if this call ended the schedule; false if it had already ended.</returns>
    public bool Cancel()
    {
        if (!_completion.TrySetCanceled()) return false;
        End();
        return true;
    }

    internal void Start()
    {
        lock (_gate)
        {
            // Created disarmed and armed after assignment, so a due-now callback never finds _timer unset.
            _timer = _clock.CreateTimer(s_fire, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Arm();
        }
    }

    /// <summary>
    /// Timer callback: hands the run to the executor once it is due. Runs no user code. A timer that fired before
    /// the due time (by the provider's clock) is armed again for the rest, so a run never starts early.
    /// </summary>
    private void Fire()
    {
        if (_completion.Task.IsCompleted) return;
        lock (_gate)
        {
            if (_timer is null) return; // ended meanwhile
            if (ArmIfEarly()) return; // fired early: not due yet
        }
        try
        {
            _owner.Executor.Execute(_run);
        }
        catch (RejectedExecutionException)
        {
            Cancel(); // the executor was shut down under us
        }
    }

    private void Run()
    {
        if (_completion.Task.IsCompleted) return;
        try
        {
            _action();
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _runCount);
            if (_completion.TrySetException(e)) End();
            return;
        }
        Interlocked.Increment(ref _runCount);

        if (!IsPeriodic)
        {
            if (_completion.TrySetResult()) End();
            return;
        }
        lock (_gate)
        {
            if (_timer is null) return; // canceled while running
            // Fixed rate: from the previous due time (a late run's successors catch up). Fixed delay: from now, the
            // end of this run. Both saturate at Never rather than overflow into the past.
            _nextDue = SaturatingAdd(_fixedRate ? _nextDue : _clock.GetElapsedTime(_origin), _period);
            Arm();
        }
    }

    /// <summary>Under _gate: arms the timer for the next due time; to fire at once when that has passed.</summary>
    private void Arm()
    {
        if (!ArmIfEarly()) _timer!.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Under _gate: if _nextDue is still ahead by the provider's clock, arms the timer for the rest and returns true;
    /// false when the run is due. Never arms nothing and counts as ahead (the schedule waits for Cancel).
    /// </summary>
    private bool ArmIfEarly()
    {
        if (_nextDue == Never)
        {
            _timer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return true;
        }
        TimeSpan left = _nextDue - _clock.GetElapsedTime(_origin);
        if (left <= TimeSpan.Zero) return false;
        _timer!.Change(TimerDelay(left), Timeout.InfiniteTimeSpan);
        return true;
    }

    /// <summary>
    /// <paramref name="left"/> (positive) rounded up to a whole millisecond, the system timer's unit (so a
    /// sub-millisecond rest is not armed as zero and fired at once), and capped at what the timer accepts.
    /// </summary>
    private static TimeSpan TimerDelay(TimeSpan left)
    {
        if (left >= s_maxTimerDelay) return s_maxTimerDelay;
        long ms = (left.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary><paramref name="a"/> + <paramref name="b"/> (both zero or more), or <see cref="Never"/> if that would overflow.</summary>
    internal static TimeSpan SaturatingAdd(TimeSpan a, TimeSpan b) =>
        b >= Never - a ? Never : a + b;

    /// <summary>After <see cref="Completion"/> is final: drop the timer and leave the executor's books.</summary>
    private void End()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
        }
        _owner.Forget(this);
    }
}
