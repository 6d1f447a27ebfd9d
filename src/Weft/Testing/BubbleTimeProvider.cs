using System.Diagnostics;
using Weft.Runtime;

namespace Weft.Testing;

/// <summary>
/// The bubble's <see cref="TimeProvider"/>: virtual now, virtual timestamps, and timers on the bubble's timer heap
/// whose callbacks run as goroutines in the bubble (Go's AfterFunc in a synctest bubble).
/// </summary>
internal sealed class BubbleTimeProvider(SynctestBubble bubble) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => bubble.Now;

    public override long GetTimestamp() => bubble.NowTicks;

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        SynctestBubble.CheckAccess(bubble, "TimeProvider");
        var t = new BubbleTimer(bubble, callback, state);
        t.Change(dueTime, period);
        return t;
    }

    private sealed class BubbleTimer(SynctestBubble bubble, TimerCallback callback, object? state) : TimerNode, ITimer
    {
        private long _period; // Clock ticks; 0 = one-shot
        private bool _queued;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime < TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan) throw new ArgumentOutOfRangeException(nameof(dueTime));
            if (period < TimeSpan.Zero && period != Timeout.InfiniteTimeSpan) throw new ArgumentOutOfRangeException(nameof(period));
            SynctestBubble.CheckAccess(bubble, "timer");
            if (_disposed) return false;
            Unqueue();
            _period = period == Timeout.InfiniteTimeSpan ? 0 : Clock.FromTimeSpan(period);
            if (dueTime != Timeout.InfiniteTimeSpan) Queue(Clock.Deadline(bubble.NowTicks, dueTime));
            return true;
        }

        private void Queue(long when)
        {
            bubble.Timers.Add(this, when);
            _queued = true;
            bubble.ProviderTimers++;
        }

        private void Unqueue()
        {
            if (!_queued) return;
            bubble.Timers.Remove(this);
            _queued = false;
            bubble.ProviderTimers--;
        }

        internal override void Fire(long now)
        {
            _queued = false;
            bubble.ProviderTimers--;
            if (_disposed) return;
            Go.Run(() => callback(state));
            if (_period > 0) Queue(When + _period);
        }

        public void Dispose()
        {
            _disposed = true;
            Unqueue();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
