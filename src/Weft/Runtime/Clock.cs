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

    public static long FromTimeSpan(TimeSpan d) =>
        Stopwatch.Frequency == TimeSpan.TicksPerSecond * 100 ? d.Ticks * 100 : (long)(d.Ticks * s_ticksPerTimeSpanTick);

    public static TimeSpan ToTimeSpan(long ticks) => Stopwatch.GetElapsedTime(0, ticks);

    /// <summary>A deadline <paramref name="d"/> from now, saturating instead of overflowing.</summary>
    public static long Deadline(long now, TimeSpan d)
    {
        long delta = FromTimeSpan(d);
        return delta >= Never - now ? Never - 1 : now + delta;
    }

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
