using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Runtime;

/// <summary>
/// The runtime's monotonic clock, in Stopwatch ticks (nanoseconds on Linux). Timers, sleeps and sysmon all read it
/// here so that a virtual clock (deterministic tests) has one place to plug in.
/// </summary>
internal static class Clock
{
    public const long Never = long.MaxValue;

    private static readonly double s_ticksPerTimeSpanTick = Stopwatch.Frequency / (double)TimeSpan.TicksPerSecond;

    public static long Now
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// <paramref name="d"/> in clock ticks, saturating at <see cref="long.MaxValue"/> and <see cref="long.MinValue"/>
    /// instead of overflowing: <c>TimeSpan.MaxValue</c> in nanoseconds does not fit in a long, and a wrapped value
    /// would turn "never" into "already due" (issue 13, bug 3).
    /// </summary>
    public static long FromTimeSpan(TimeSpan d)
    {
        long t = d.Ticks;
        if (Stopwatch.Frequency == TimeSpan.TicksPerSecond * 100)
        {
            if (t > long.MaxValue / 100) return long.MaxValue;
            if (t < long.MinValue / 100) return long.MinValue;
            return t * 100;
        }
        double scaled = t * s_ticksPerTimeSpanTick;
        if (scaled >= long.MaxValue) return long.MaxValue;
        if (scaled <= long.MinValue) return long.MinValue;
        return (long)scaled;
    }

    public static TimeSpan ToTimeSpan(long ticks) => Stopwatch.GetElapsedTime(0, ticks);

    /// <summary>
    /// The one place a duration becomes a deadline, for sleeps, timers, tickers and select timeouts: <paramref name="d"/>
    /// from <paramref name="now"/>. A zero or negative duration is due now (Go's <c>when(d)</c>); a duration too large to
    /// add saturates at <see cref="FarFuture"/>, a pending deadline that is never reached, as Go's <c>maxWhen</c>.
    /// </summary>
    public static long Deadline(long now, TimeSpan d)
    {
        long delta = FromTimeSpan(d);
        if (delta <= 0) return now;
        return delta >= FarFuture - now ? FarFuture : now + delta;
    }

    /// <summary>
    /// The latest deadline a timer can have: where huge durations saturate. One below <see cref="Never"/>, which
    /// means "in no heap" (a sleep that only cancellation ends).
    /// </summary>
    public const long FarFuture = Never - 1;

    /// <summary>Milliseconds to wait for <paramref name="deadline"/>, rounded up, for Monitor.Wait-style APIs.</summary>
    public static int MillisecondsUntil(long deadline, long now)
    {
        if (deadline == Never) return Timeout.Infinite;
        long ticks = deadline - now;
        if (ticks <= 0) return 0;
        if (ticks > long.MaxValue / 1000) return int.MaxValue; // a far deadline (Go.Sleep(Infinite, token)): ticks * 1000 would overflow
        long ms = (ticks * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency;
        return ms > int.MaxValue ? int.MaxValue : (int)ms;
    }
}
