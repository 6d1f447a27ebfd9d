namespace Weft.Tests.Threading;

/// <summary>
/// A virtual clock for deterministic timer tests: time moves only in <see cref="Advance"/>, which fires due timers
/// synchronously, in due order, on the calling thread. A timer armed with a zero due time fires at once, inside
/// <see cref="ITimer.Change"/>.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _lock = new();
    private readonly List<ManualTimer> _timers = []; // guarded by _lock
    private long _now;                               // ticks; guarded by _lock

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_lock) return _now;
    }

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch + Elapsed;

    /// <summary>Virtual time since the clock was created.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(GetTimestamp());

    /// <summary>
    /// Makes timers fire early, as the system timer does on its coarse clock: a timer armed for more than this fires
    /// this much before its due time; a shorter one fires on time. Zero (the default): timers fire exactly on time.
    /// </summary>
    public TimeSpan FiresEarlyBy { get; set; }

    public int ArmedTimers
    {
        get
        {
            lock (_lock) return _timers.Count(t => t.DueAt is not null);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves time forward by <paramref name="by"/>, firing each timer that falls due on the way.</summary>
    public void Advance(TimeSpan by)
    {
        long target;
        lock (_lock) target = _now + by.Ticks;
        while (true)
        {
            ManualTimer? due;
            lock (_lock)
            {
                due = _timers.Where(t => t.DueAt <= target).MinBy(t => t.DueAt);
                if (due is null)
                {
                    // Max: a timer callback fired above may have advanced the clock further on its own thread (a
                    // run that "takes" 30 ms), and time must not go back.
                    _now = Math.Max(_now, target);
                    return;
                }
                _now = Math.Max(_now, due.DueAt!.Value);
                due.DueAt = null;
            }
            due.Fire();
        }
    }

    /// <summary>Waits (real time, bounded) until a timer is armed, then advances exactly to its due time.</summary>
    public void AdvanceToNextTimer()
    {
        long dueAt;
        lock (_lock)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!_timers.Any(t => t.DueAt is not null))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TimeoutException("No timer was armed within 10 s.");
                Monitor.Wait(_lock, left);
            }
            dueAt = _timers.Where(t => t.DueAt is not null).Min(t => t.DueAt!.Value);
        }
        Advance(TimeSpan.FromTicks(Math.Max(0, dueAt - GetTimestamp())));
    }

    private sealed class ManualTimer(ManualTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        public long? DueAt; // guarded by clock._lock

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (period != Timeout.InfiniteTimeSpan) throw new NotSupportedException("Only one-shot timers are simulated.");
            bool fireNow = false;
            lock (clock._lock)
            {
                if (!clock._timers.Contains(this)) clock._timers.Add(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    DueAt = null;
                }
                else if (dueTime == TimeSpan.Zero)
                {
                    DueAt = null;
                    fireNow = true;
                }
                else
                {
                    long early = dueTime > clock.FiresEarlyBy ? clock.FiresEarlyBy.Ticks : 0;
                    DueAt = clock._now + dueTime.Ticks - early; // unchecked: a huge due time wraps, as a bad caller's would
                    Monitor.PulseAll(clock._lock);
                }
            }
            if (fireNow) Fire();
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (clock._lock) clock._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
