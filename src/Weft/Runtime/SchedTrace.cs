using System.Globalization;
using System.Text;

namespace Weft.Runtime;

/// <summary>
/// <c>WEFT_SCHEDTRACE=&lt;ms&gt;</c>: a line on standard error every &lt;ms&gt;, like Go's <c>GODEBUG=schedtrace</c>:
/// <c>SCHED 1004ms: procs=2 idleprocs=0 threads=5 spinning=0 idlethreads=2 globrunq=0 runq=[0 3]</c>.
/// Read racily from the scheduler's counters: a line is a snapshot, never a lock.
/// </summary>
internal static class SchedTrace
{
    public const string Variable = "WEFT_SCHEDTRACE";

    public static TimeSpan? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (!int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int ms) || ms < 1 || ms > 3_600_000)
            throw new InvalidOperationException($"{Variable}='{value}' is not valid: expected a period in milliseconds from 1 to 3600000.");
        return TimeSpan.FromMilliseconds(ms);
    }

    public static void Start(TimeSpan period)
    {
        long origin = Clock.Now;
        var t = new Thread(() =>
        {
            var parker = new Parker();
            while (true)
            {
                parker.Park(Clock.Deadline(Clock.Now, period));
                Console.Error.WriteLine(Line(origin));
            }
        }, 256 * 1024) { IsBackground = true, Name = "weft-schedtrace" };
        t.UnsafeStart();
    }

    public static string Line(long origin)
    {
        var allp = Scheduler.AllP;
        var sb = new StringBuilder(96);
        sb.Append("SCHED ").Append((long)Clock.ToTimeSpan(Clock.Now - origin).TotalMilliseconds).Append("ms: procs=").Append(allp.Length)
          .Append(" idleprocs=").Append(Volatile.Read(ref Scheduler.IdleCount))
          .Append(" threads=").Append(Scheduler.ThreadCount)
          .Append(" spinning=").Append(Volatile.Read(ref Scheduler.Spinning))
          .Append(" idlethreads=").Append(Scheduler.IdleThreads)
          .Append(" globrunq=").Append(Scheduler.Global.Count)
          .Append(" goroutines=").Append(Registry.Live)
          .Append(" runq=[");
        for (int i = 0; i < allp.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(allp[i].Runq.Count);
        }
        return sb.Append(']').ToString();
    }
}
