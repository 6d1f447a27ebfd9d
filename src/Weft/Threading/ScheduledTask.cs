namespace Weft.Threading;

/// <summary>
/// One schedule on a <see cref="ScheduledExecutor"/>: a delayed action, or an action repeated at a fixed rate or
/// with a fixed delay. Its <see cref="Completion"/> reports how the schedule ended.
/// </summary>
/// <remarks>
/// Runs of one schedule never overlap: the next run is timed only after the current one returns. At a fixed rate,
/// run n is due at initialDelay + n x period from scheduling; a late run starts at once, and the runs it missed are
/// run back to back (Java's catch-up). With a fixed delay, each run is due one delay after the previous one returned.
/// As in Java, a run that throws ends the schedule: no later run happens and <see cref="Completion"/> faults with
/// that exception.
/// </remarks>
public sealed class ScheduledTask
{
    private static readonly TimerCallback s_fire = static state => ((ScheduledTask)state!).Fire();

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
    private TimeSpan _nextDue;              // guarded by _gate: the current run's due time, as an offset from _origin
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
            _timer.Change(_nextDue, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Timer callback: hands the run to the executor. Runs no user code.</summary>
    private void Fire()
    {
        if (_completion.Task.IsCompleted) return;
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
            TimeSpan due;
            if (_fixedRate)
            {
                _nextDue += _period;
                due = _nextDue - _clock.GetElapsedTime(_origin);
                if (due < TimeSpan.Zero) due = TimeSpan.Zero;
            }
            else
            {
                due = _period;
            }
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

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
