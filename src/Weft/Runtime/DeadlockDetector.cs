// DeadlockDetector — the whole-program "all goroutines are asleep" check, run by sysmon when every P is idle.
//
// The question is Go's: can anything still wake the sleeping goroutines? Go answers it exactly because all of a Go
// program's code is goroutines. A .NET process also runs code that Weft does not schedule, and a false "deadlock!"
// on a live program is worse than a missed one (with WEFT_DEADLOCK=fail it kills a correct program), so the
// detector reports only what it can prove, and counts as "someone else may still wake them" every signal below.
//
// Inside Weft (Candidate), a candidate is: at least one live goroutine outside bubbles; every one of them Waiting
// on a Weft primitive (a foreign await, i.e. I/O or a Task that something outside completes, does not count); no
// timer in any P's heap; no descriptor armed in the netpoller (an IPC wait: the peer is outside); an empty global
// queue; every P idle.
//
// Outside Weft (Outside), any of these means the program may still be alive:
//   * a .NET timer is pending (Timer.ActiveCount): Task.Delay, CancellationTokenSource.CancelAfter, System.Timers,
//     Kestrel's heartbeat. Go likewise never reports while a timer is pending.
//   * ThreadPool work is queued (PendingWorkItemCount) or running (GetMaxThreads - GetAvailableThreads: the workers
//     processing an item), or completed while we watched (CompletedWorkItemCount moved): Task.Run bodies, socket
//     and timer continuations, ASP.NET Core handlers.
//   * a thread exists that is not known to be idle. Linux lists the process's threads in /proc/self/task with
//     their names. Known:
//       - Weft's Ms ("weft-m<n>"), no more of them than Weft started: a plain thread that a goroutine starts
//         inherits its M's name, and the count gives it away;
//       - sysmon, schedtrace and the netpoller (Netpoll.cs), one each;
//       - ThreadPool workers (".NET TP Worker"), no more than ThreadPool.ThreadCount, by the same argument: a thread
//         started from a pool thread carries its name; whether they are busy is the point above;
//       - the runtime's own service threads, by name: finalizer, GC, timer, socket engine, tiered compilation,
//         debugger, event pipe, signal handler, ThreadPool gate;
//       - the one thread that waits for Go.Main.
//     Everything else counts as alive, whatever it is doing: a plain Thread (asleep, holding a Weft Mutex, in a
//     blocking read), a LongRunning task, a registered wait, Weft's own executor and bubble threads.
// The outside signals are read twice, 100 ms apart, with the inside candidate, and must agree (same threads, no
// ThreadPool item completed), so a wake-up in flight between two reads is never missed.
//
// The main thread is the hole that no signal closes: outside Go.Main it is a plain thread that Weft knows nothing
// about (it may be in Thread.Sleep, Console.ReadLine, or blocked on an async Main whose next step is a socket read
// that no signal above shows). So outside Go.Main the detector never reports: no proof is possible, and no code
// path reports a live program. Under Go.Main the main thread is known (it waits for the main goroutine, which is
// itself one of the goroutines checked), and the rule above is exact for a Go-shaped program. What remains
// invisible is an asynchronous operation that no goroutine awaits and no thread, timer or work item stands for
// (a fire-and-forget task whose only pending step is a socket read): Go.Main's documentation asks that such work
// be awaited from a goroutine, where it is a foreign await. Names can also be borrowed: a thread the program names
// exactly like a runtime service thread, or starts from one (a socket continuation run inline on the socket engine
// under DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS), passes for it. Without /proc (not Linux) no thread list can
// be read, so nothing is reported there.
//
// Rejected:
//   * reporting outside Go.Main when the signals above are quiet: the main thread is always there and always
//     unknown, so the rule would never fire anyway, and a report that relied on a guess about it could be false;
//   * counting every OS thread against a baseline taken at start: the runtime starts and retires its own threads
//     (tiered compilation, ThreadPool gate, socket engine) at will, so a count without names proves nothing;
//   * /proc thread states (R/S): a plain thread in Thread.Sleep looks exactly like the idle finalizer;
//   * Monitor.LockContentionCount: it only moves when a lock is contended, so a thread holding one idles unseen;
//   * counting Weft's own thread-world waiters as asleep (a plain thread in Chan.Send): exact, but it needs
//     bookkeeping in every blocking primitive for a case Go does not have; such a thread counts as alive, which at
//     worst misses a deadlock.
//
// Protocol: sysmon calls Check when every P has been idle for a few ticks. A candidate inside with a quiet outside,
// unchanged after 100 ms, is acted on once per episode (the signature of the inside candidate). Sysmon otherwise
// sleeps until a P leaves the idle list, which is right when what stands between the goroutines and a deadlock
// is pending inside Weft (a timer, a foreign await: its end takes a P). In every other case the check asks sysmon
// to look again after RecheckEvery instead: activity outside can end without touching Weft (a plain thread exits),
// and a goroutine seen running, or one that ran while the check looked (Sysmon counts steps), may have parked
// again, on a deadlock, without a P leaving the idle list after sysmon went to sleep.

using System.Globalization;
using System.Text;

namespace Weft.Runtime;

internal static class DeadlockDetector
{
    public const string Variable = "WEFT_DEADLOCK";

    /// <summary>Go's message for the condition, word for word.</summary>
    public const string GoMessage = "all goroutines are asleep - deadlock!";

    /// <summary>How long sysmon sleeps before it looks again when only activity outside Weft keeps the program alive.</summary>
    public static readonly TimeSpan RecheckEvery = TimeSpan.FromMilliseconds(250);

    private const int MainNone = 0, MainRunning = 1, MainReturned = 2;
    private static int s_main;         // MainNone, MainRunning or MainReturned
    private static int s_mainWaiterTid; // OS thread id of the thread that waits for the main goroutine; 0 if none

    private static long s_reportedAt = -1; // the candidate's signature already acted on; sysmon only

    // The runtime's own service threads, as Linux shows their names (truncated to 15 bytes).
    private static readonly HashSet<string> s_runtimeThreads = new(StringComparer.Ordinal)
    {
        ".NET SynchManag", ".NET EventPipe", ".NET DebugPipe", ".NET Debugger", ".NET Finalizer", ".NET Tiered Com",
        ".NET SigHandler", ".NET Timer", ".NET TP Gate", ".NET Sockets", ".NET BGC", ".NET Server GC", ".NET GC",
    };

    private const string MachinePrefix = "weft-m";
    private const string SysmonName = "weft-sysmon";
    private const string SchedTraceName = "weft-schedtrace"; // 15 bytes: Linux keeps it whole
    private const string PoolWorkerName = ".NET TP Worker";

    public static DeadlockDetection Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => DeadlockDetection.Fail,
        "off" => DeadlockDetection.Off,
        "report" => DeadlockDetection.Report,
        "fail" => DeadlockDetection.Fail,
        _ => throw new InvalidOperationException($"{Variable}='{value}' is not valid: expected off, report or fail."),
    };

    /// <summary>Go.Main: the main goroutine is about to start; <paramref name="callerWaits"/> if the calling thread only waits for it.</summary>
    public static void EnterMain(bool callerWaits)
    {
        Volatile.Write(ref s_mainWaiterTid, callerWaits ? CurrentOsThreadId() : 0);
        Volatile.Write(ref s_main, MainRunning);
    }

    /// <summary>The main goroutine returned: the program is ending, and nothing is reported any more.</summary>
    public static void ExitMain() => Volatile.Write(ref s_main, MainReturned);

    /// <summary>True between Go.Main's start and the main goroutine's return.</summary>
    public static bool UnderMain => Volatile.Read(ref s_main) == MainRunning;

    /// <summary>Candidate's answer when a goroutine is runnable or running: it will park again, maybe on a deadlock.</summary>
    public const long Busy = -1;

    /// <summary>Candidate's answer when a timer or a foreign await is pending: its firing or completion takes a P, which wakes sysmon.</summary>
    public const long Pending = -2;

    /// <summary>A signature of the inside candidate (non-negative), or <see cref="Busy"/> or <see cref="Pending"/>.</summary>
    public static long Candidate()
    {
        if (Scheduler.Global.Count > 0 || Volatile.Read(ref Scheduler.IdleCount) != Scheduler.AllP.Length) return Busy;
        // An armed netpoller descriptor (a channel over a pipe or socket waiting for the kernel) may be made ready
        // from outside the process: as Go's checkdead, never report while the netpoller has waiters.
        bool pending = Scheduler.EarliestTimer() != Clock.Never || Netpoll.HasWaiters;
        int asleep = 0;
        bool all = Registry.All(g =>
        {
            if (g.Bubble is not null) return true;
            if (g.State != GoroutineState.Waiting) return false;
            if (g.Reason is WaitReason.ForeignAwait or WaitReason.None or WaitReason.WaitIdle or WaitReason.IpcRead or WaitReason.IpcWrite) pending = true;
            else asleep++;
            return true;
        });
        if (!all) return Busy;
        if (pending || asleep == 0) return Pending;
        return Registry.Created * 31 + Scheduler.Unparks * 7 + asleep;
    }

    /// <summary>
    /// What outside Weft may still wake a goroutine, or null if nothing: see the essay. <paramref name="signature"/>
    /// identifies the outside state (the threads and the ThreadPool's completed count), to compare two reads.
    /// </summary>
    public static string? Outside(out string signature)
    {
        signature = "";
        if (System.Threading.Timer.ActiveCount > 0) return $"{System.Threading.Timer.ActiveCount} .NET timer(s) pending";
        if (ThreadPool.PendingWorkItemCount > 0) return "ThreadPool work queued";
        ThreadPool.GetMaxThreads(out int maxWorkers, out int maxIo);
        ThreadPool.GetAvailableThreads(out int freeWorkers, out int freeIo);
        if (maxWorkers - freeWorkers > 0 || maxIo - freeIo > 0) return "ThreadPool work running";
        long completed = ThreadPool.CompletedWorkItemCount;

        if (!OperatingSystem.IsLinux()) return "no thread list (/proc) on this system";
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories("/proc/self/task");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "no thread list: " + ex.Message;
        }
        Array.Sort(tasks, StringComparer.Ordinal);
        int waiter = Volatile.Read(ref s_mainWaiterTid);
        int machines = 0, weftSingles = 0, workers = 0;
        var sig = new StringBuilder().Append(completed);
        foreach (var dir in tasks)
        {
            string tidText = Path.GetFileName(dir);
            if (!int.TryParse(tidText, NumberStyles.None, CultureInfo.InvariantCulture, out int tid)) continue;
            sig.Append(',').Append(tid);
            if (tid == waiter) continue;
            string name = "";
            try
            {
                name = File.ReadAllText(dir + "/comm").TrimEnd('\n');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // the thread exited between the listing and the read
            }
            if (IsMachineName(name)) machines++;
            else if (name is SysmonName or SchedTraceName or Netpoll.ThreadName) weftSingles++;
            else if (name == PoolWorkerName) workers++;
            else if (!s_runtimeThreads.Contains(name)) return $"thread {tid} '{name}' is alive";
        }
        if (machines > Scheduler.ThreadCount) return "a thread started from a goroutine is alive";
        if (weftSingles > 3) return "a thread started from Weft's sysmon, schedtrace or netpoll thread is alive";
        if (workers > ThreadPool.ThreadCount) return "a thread started from a ThreadPool thread is alive";
        signature = sig.ToString();
        return null;
    }

    /// <summary>
    /// Sysmon, with every P idle: checks, confirms after 100 ms, and acts once per episode. True if sysmon should look
    /// again after <see cref="RecheckEvery"/> (asleep inside, but something outside may still wake them).
    /// </summary>
    public static bool Check(DeadlockDetection mode)
    {
        if (mode == DeadlockDetection.Off || !UnderMain) return false;
        long first = Candidate();
        if (first == Pending || first == s_reportedAt) return false;
        if (first == Busy) return true; // it parks again without taking a P from the idle list, maybe on a deadlock
        if (Outside(out string outside) is not null) return true;
        Thread.Sleep(100);
        long second = Candidate();
        if (second == Pending) return false;
        if (second != first) return true; // they moved (and may be asleep again elsewhere): look again
        if (Outside(out string again) is not null || again != outside || !UnderMain) return true;
        s_reportedAt = first;
        Act(mode);
        return false;
    }

    private static void Act(DeadlockDetection mode)
    {
        var groups = Go.GroupGoroutines(Registry.Snapshot(), Environment.TickCount64, static g => g.Bubble is null);
        var sb = new StringBuilder(GoMessage).AppendLine()
            .AppendLine("Every goroutine waits on a Weft primitive; no timer, ThreadPool work, foreign await or other thread can wake them.")
            .AppendLine();
        Go.DumpGroupsTo(sb, groups);
        string report = sb.ToString();
        int count = 0;
        foreach (var g in groups) count += g.Count;
        bool handled = Go.OnDeadlockDetected(new DeadlockDetectedEventArgs(report, groups, count, mode));
        if (mode == DeadlockDetection.Report)
        {
            if (!handled) Console.Error.WriteLine("weft: " + report);
            return;
        }
        if (!handled)
        {
            Console.Error.WriteLine("fatal error: " + report);
            Console.Error.Flush();
        }
        Environment.Exit(2); // Go's exit code for a fatal error
    }

    private static bool IsMachineName(string name)
    {
        if (name.Length <= MachinePrefix.Length || !name.StartsWith(MachinePrefix, StringComparison.Ordinal)) return false;
        foreach (char c in name.AsSpan(MachinePrefix.Length)) if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    /// <summary>The calling thread's OS id (Linux: from /proc/thread-self), or 0 where it cannot be read.</summary>
    private static int CurrentOsThreadId()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try
        {
            string? target = new FileInfo("/proc/thread-self").LinkTarget; // "<pid>/task/<tid>"
            return target is not null && int.TryParse(Path.GetFileName(target), NumberStyles.None, CultureInfo.InvariantCulture, out int tid) ? tid : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
