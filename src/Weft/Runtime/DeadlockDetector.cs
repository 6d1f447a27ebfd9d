// DeadlockDetector — the whole-program "all goroutines are asleep" check, run by sysmon when every P is idle.
//
// A candidate is: at least one live goroutine outside bubbles; every one of them Waiting with a Weft wait reason
// (not a foreign await, which real I/O may complete); no timer in any heap; an empty global queue. Sysmon sees a
// candidate, waits 100 ms, and acts only if the same candidate is still there (nothing started, nothing woke), so a
// goroutine in the middle of being readied is never mistaken for a deadlocked one. It acts once per episode.

using System.Text;

namespace Weft.Runtime;

internal static class DeadlockDetector
{
    public const string Variable = "WEFT_DEADLOCK";

    private static long s_reportedAt = -1; // the candidate's signature already acted on; sysmon only

    public static DeadlockDetection Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => DeadlockDetection.Report,
        "off" => DeadlockDetection.Off,
        "report" => DeadlockDetection.Report,
        "fail" => DeadlockDetection.Fail,
        _ => throw new InvalidOperationException($"{Variable}='{value}' is not valid: expected off, report or fail."),
    };

    /// <summary>A signature of the candidate, or -1 when the program is not deadlocked.</summary>
    public static long Candidate()
    {
        if (Scheduler.Global.Count > 0 || Scheduler.EarliestTimer() != Clock.Never) return -1;
        if (Volatile.Read(ref Scheduler.IdleCount) != Scheduler.AllP.Length) return -1;
        int asleep = 0;
        bool all = Registry.All(g =>
        {
            if (g.Bubble is not null) return true;
            if (g.State != GoroutineState.Waiting) return false;
            if (g.Reason is WaitReason.ForeignAwait or WaitReason.None or WaitReason.WaitIdle) return false;
            asleep++;
            return true;
        });
        if (!all || asleep == 0) return -1;
        return Registry.Created * 31 + Scheduler.Unparks * 7 + asleep;
    }

    /// <summary>Sysmon, with every P idle: checks, confirms after 100 ms, and acts once per episode.</summary>
    public static void Check(DeadlockDetection mode)
    {
        if (mode == DeadlockDetection.Off) return;
        long first = Candidate();
        if (first < 0 || first == s_reportedAt) return;
        Thread.Sleep(100);
        if (Candidate() != first) return;
        s_reportedAt = first;
        var sb = new StringBuilder("all goroutines are asleep - deadlock! Every live goroutine waits on a Weft primitive, no timer is pending and no foreign await is outstanding.");
        sb.AppendLine().Append(Go.Dump());
        if (mode == DeadlockDetection.Report)
        {
            Console.Error.WriteLine("weft: " + sb);
            return;
        }
        Go.OnUnhandled(new DeadlockDetectedException(sb.ToString()), null);
    }
}
