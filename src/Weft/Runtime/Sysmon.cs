// Sysmon — one background thread without a P (Go's sysmon).
//
// Every tick (a quarter of the blocking threshold, at least 1 ms) it looks at each P:
//   * retake: a P whose step has not changed since sysmon first saw it, for longer than the blocking threshold
//     (10 ms by default), belongs to an M stuck in a blocking call or in a loop that never awaits. Sysmon takes
//     the P (Processor.TryRetake: a new generation, Idle) and hands it to another M (HandoffP), so MaxProcs
//     goroutines keep running. The stuck M finds out when its step ends and gives the P up for good.
//     We cannot preempt the stuck goroutine itself (no safe stack switching in .NET): it keeps its thread, which is
//     why the runtime may own more threads than Ps. The count of retakes is the diagnostic (Weft meter).
//   * queued work behind a long step: runnext is filled without waking anyone (see Scheduler), so if a P has
//     been in one step for a whole tick with work queued and some P idle, sysmon calls wakep; if only runnext
//     holds work, sysmon moves it to the global queue (only the owner or sysmon may take runnext: RunQueue).
//   * overdue timers: if the earliest timer of any P is more than a tick overdue, wake an M to run it.
//   * the netpoller: if a descriptor is armed, no M blocks in epoll_wait and nobody has polled for a tick, poll it
//     without blocking (Go's sysmon netpoll check); what it readies goes to the global queue (sysmon has no P).
// When every P is idle (and, if something waits on the netpoller, an M blocks in epoll_wait), sysmon runs the deadlock check (DeadlockDetector) and sleeps until a P is taken again
// (Notify), so an idle process costs no CPU; under Go.Main, while every goroutine is asleep but something outside
// Weft may still wake them, it looks again every DeadlockDetector.RecheckEvery instead.

namespace Weft.Runtime;

internal static class Sysmon
{
    private static readonly Parker s_parker = new();
    private static int s_deepSleep; // 1 while sysmon sleeps with no deadline; full fences on both sides
    private static Thread? s_thread;

    private static long s_coarseNowMs = Environment.TickCount64;

    /// <summary>
    /// Environment.TickCount64 as of sysmon's last tick (at most a tick old while any P is busy): what a parking
    /// goroutine records as its parked-since time, without a clock read on every park.
    /// </summary>
    internal static long CoarseNowMs => Volatile.Read(ref s_coarseNowMs);

    internal static void Start()
    {
        s_thread = new Thread(Loop, 256 * 1024) { IsBackground = true, Name = "weft-sysmon" };
        s_thread.UnsafeStart();
    }

    /// <summary>A P left the idle list: wake sysmon if it sleeps deeply.</summary>
    internal static void Notify()
    {
        Interlocked.MemoryBarrier(); // pairs with the exchange below: either we see 1 or sysmon sees the P taken
        if (Volatile.Read(ref s_deepSleep) != 0) s_parker.Unpark();
    }

    /// <summary>Steps started on every P, summed racily: it moves whenever a goroutine runs.</summary>
    private static long StepsRun()
    {
        long n = 0;
        foreach (var p in Scheduler.AllP) n += Volatile.Read(ref p.SchedTick);
        return n;
    }

    private static void Loop()
    {
        int idleTicks = 0;
        long lastSweep = Clock.Now;
        long sweepEvery = Clock.FromTimeSpan(TimeSpan.FromSeconds(1));
        while (true)
        {
            var config = RuntimeConfig.Current;
            long threshold = Clock.FromTimeSpan(config.BlockingThreshold);
            long tick = Math.Max(Clock.FromTimeSpan(TimeSpan.FromMilliseconds(1)), threshold / 4);
            s_parker.Park(Clock.Now + tick);

            long now = Clock.Now;
            Volatile.Write(ref s_coarseNowMs, Environment.TickCount64);
            bool anyBusy = false;
            foreach (var p in Scheduler.AllP)
            {
                ModelPoint.Here();
                long w = p.Word;
                if (Processor.State(w) == Processor.StateIdle) continue;
                anyBusy = true;
                ModelPoint.Here();
                int step = p.Owner is { } owner ? Volatile.Read(ref owner.StepState) : Processor.StepScheduling;
                if (step == Processor.StepScheduling) continue;
                ModelPoint.Here();
                int schedTick = Volatile.Read(ref p.SchedTick);
                if (p.SysmonTick != schedTick || Processor.Gen(p.SysmonWord) != Processor.Gen(w))
                {
                    p.SysmonTick = schedTick;
                    p.SysmonWord = w;
                    p.SysmonWhen = now;
                    continue;
                }
                long inStep = now - p.SysmonWhen;
                if (inStep >= threshold && step == Processor.StepRunning)
                {
                    if (p.TryRetake(w, schedTick))
                    {
                        Scheduler.CountRetake();
                        Scheduler.HandoffP(p);
                    }
                }
                else if (inStep >= tick && p.HasWork && Volatile.Read(ref Scheduler.IdleCount) > 0)
                {
                    // Only runnext, which nobody but the owner may take: move it to the global queue (which wakes).
                    if (p.Runq.RingIsEmpty && p.TakeRunnextFromLongStep(schedTick) is { } g) Scheduler.ReadyGlobal(g);
                    else Scheduler.Wakep();
                }
            }

            // Backstop: work in the global queue, an idle P, and nobody spinning (a wake-up that raced with a P
            // going idle, e.g. a goroutine taken back from a P that sysmon had just retaken).
            if (Scheduler.Global.Count > 0 && Volatile.Read(ref Scheduler.IdleCount) > 0 && Volatile.Read(ref Scheduler.Spinning) == 0)
                Scheduler.Wakep();

            if (now - lastSweep > sweepEvery)
            {
                lastSweep = now;
                Registry.Sweep();
            }

            // Readiness is never starved by Ps that stay busy: poll if nobody has for a tick (Netpoll.cs, "Who polls", 3).
            Netpoll.SysmonCheck(now, tick);

            long earliest = Scheduler.EarliestTimer();
            if (earliest != Clock.Never && now - earliest > tick) Scheduler.OnTimerAdded(earliest);

            // Something armed and no M blocking in epoll_wait: keep ticking (and polling) rather than sleep deeply. The
            // idle and hand-off paths start a poller M in this state; this is the backstop (Netpoll.cs, "Who polls").
            if (anyBusy || Scheduler.Global.Count > 0 || (Netpoll.HasWaiters && !Netpoll.SomeoneBlocks))
            {
                idleTicks = 0;
                continue;
            }
            if (++idleTicks < 4) continue;
            // Every P idle for a few ticks: sleep until one is taken. Parked Ms cover the timers. Drop the dead
            // goroutine records first, so an idle process holds none.
            Registry.Sweep();
            long steps = StepsRun();
            bool recheck = DeadlockDetector.Check(config.Deadlock);
            Interlocked.Exchange(ref s_deepSleep, 1);
            // A goroutine that ran during the check and parked again before the flag above went up took a P
            // without waking us: under Go.Main the check must then be made again, on the state it left.
            if (DeadlockDetector.UnderMain && StepsRun() != steps) recheck = true;
            if (Volatile.Read(ref Scheduler.IdleCount) == Scheduler.AllP.Length && Scheduler.Global.Count == 0)
                s_parker.Park(recheck ? Clock.Now + Clock.FromTimeSpan(DeadlockDetector.RecheckEvery) : Clock.Never);
            Volatile.Write(ref s_deepSleep, 0);
            Volatile.Write(ref s_coarseNowMs, Environment.TickCount64);
            idleTicks = 0;
        }
    }
}
