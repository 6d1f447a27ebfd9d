// Scheduler — the process-wide M:N scheduler: the set of Ps, the idle lists, the global queue and wake-ups.
//
// Glossary (see DESIGN.md): G = Goroutine, P = Processor (exactly MaxProcs), M = Machine (an OS thread holding
// at most one P), sysmon = the background thread in Sysmon.cs.
//
// Lock order, written once: SchedLock, then a GlobalRunQueue lock, then a TimerHeap lock, then a Goroutine's
// mailbox lock. No user code runs under any of them; timer callbacks and continuations run after release.
//
// Shared state and who owns it
//   _allp            the current Ps; replaced (never mutated) under SchedLock when MaxProcs changes, read racily:
//                    a stale array only means a thief looks at a P that is retiring, which is harmless.
//   _pidle, IdleCount   idle Ps; guarded by SchedLock; IdleCount is also read racily as a hint by wakep.
//   _midle           idle Ms; guarded by SchedLock.
//   Spinning         number of spinning Ms; changed by Interlocked, read racily (Go's nmspinning).
//
// Waking (wakep) is deliberately conservative, as in Go: only when there is an idle P and nobody spins. A
// goroutine readied into an empty runnext wakes nobody (tokio's LIFO-slot rule): it runs as soon as the waker
// parks, which in a channel ping-pong is a few nanoseconds away, and a futex wake would cost microseconds. If the
// waker instead keeps running, sysmon notices the queued work within a tick and calls wakep.

using System.Runtime.CompilerServices;

namespace Weft.Runtime;

internal static class Scheduler
{
    /// <summary>Consecutive runnext runs allowed before the ring's head gets a turn.</summary>
    internal const int RunnextCap = 64;

    /// <summary>Go's maxmcount: a program that blocks this many threads is broken, not busy.</summary>
    internal const int MaxThreads = 10_000;

    internal static readonly Lock SchedLock = new();
    internal static readonly GlobalRunQueue Global = new();

    private static Processor[] s_allp = [];
    private static Processor? s_pidle;
    internal static int IdleCount;
    private static Machine? s_midle;
    private static int s_mcount;
    internal static int Spinning;

    /// <summary>
    /// The M blocked in epoll_wait (Netpoll.cs, "the poller M"), or null; guarded by SchedLock. It is in neither idle
    /// list: StartM never hands it a P, and a timer wakes it through Netpoll.Interrupt.
    /// </summary>
    private static Machine? s_pollerM;

    // The M sleeping until the earliest timer, and that deadline; guarded by SchedLock (deadline read racily).
    private static Machine? s_timerM;
    private static long s_timerDeadline = Clock.Never;

    private static volatile bool s_started;
    private static readonly Lock s_startLock = new();
    private static readonly Lock s_resizeLock = new();

    // Counters for metrics and tests; incremented with Interlocked, read racily.
    private static long s_steals, s_retakes, s_parks, s_unparks;

    internal static long Steals => Volatile.Read(ref s_steals);
    internal static long Retakes => Volatile.Read(ref s_retakes);
    internal static long Parks => Volatile.Read(ref s_parks);
    internal static long Unparks => Volatile.Read(ref s_unparks);
    internal static int ThreadCount => Volatile.Read(ref s_mcount);
    internal static int IdleThreads => Volatile.Read(ref s_nmidle);
    private static int s_nmidle; // guarded by SchedLock, read racily

    internal static Processor[] AllP
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref s_allp);
    }

    internal static void CountSteal() => Interlocked.Increment(ref s_steals);
    internal static void CountRetake() => Interlocked.Increment(ref s_retakes);

    // ---- Start-up -----------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void EnsureStarted()
    {
        if (!s_started) Start();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Start()
    {
        lock (s_startLock)
        {
            if (s_started) return;
            var config = RuntimeConfig.Current; // throws a clear error for bad WEFT_* variables
            lock (SchedLock)
            {
                var ps = new Processor[config.MaxProcs];
                for (int i = ps.Length - 1; i >= 0; i--)
                {
                    ps[i] = new Processor(i);
                    PidlePutLocked(ps[i]);
                }
                Volatile.Write(ref s_allp, ps);
            }
            Sysmon.Start();
            RuntimeMetrics.Register();
            if (config.SchedTrace is { } period) SchedTrace.Start(period);
            s_started = true;
        }
    }

    internal static bool IsStarted => s_started;

    // ---- Readying goroutines ------------------------------------------------------------------------------------

    /// <summary>
    /// Makes <paramref name="g"/> runnable: into the current P's runnext when called on an M that holds its P,
    /// otherwise onto the global queue. Callable from any thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Ready(Goroutine g)
    {
        if (g.Bubble is { } bubble) { bubble.Enqueue(g); return; }
        if (Machine.Current is not { } m || !TryReadyLocal(g, m, kickNext: true)) ReadyGlobal(g);
    }

    /// <summary>
    /// Go's ready() for a committed park (Park.cs): its completer took the parked node under the primitive's lock,
    /// which orders it after the step end that parked <paramref name="g"/> (RunParkedOnChan) and makes it the only
    /// party that may wake it. So the run word moves to RunResumed with a plain store, where Go's ready() CASes
    /// _Gwaiting to _Grunnable, and <paramref name="g"/> goes to runnext. No mailbox lock: a poster that finds
    /// RunParkedOnChan claims the park through the primitive's lock, and fails once the node is taken.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ReadyCommitted(Goroutine g)
    {
        g.State = GoroutineState.Runnable;
        ModelPoint.Here();
        Volatile.Write(ref g.RunWord, Goroutine.RunResumed); // release: the step it starts reads the park's result
        Ready(g);
    }

    /// <summary>
    /// Like <see cref="ReadyCommitted"/>, but <paramref name="g"/> goes to the back of the global queue (Gosched): a
    /// commit that ends its own wait by a deadline already passed (Sleep.cs) readies its goroutine this way, so that
    /// a positive sleep is always a scheduling point. Called from the goroutine's own commit, which touches nothing after.
    /// </summary>
    internal static void ReadyCommittedYield(Goroutine g)
    {
        g.State = GoroutineState.Runnable;
        ModelPoint.Here();
        Volatile.Write(ref g.RunWord, Goroutine.RunResumed);
        ReadyGlobal(g);
    }

    /// <summary>
    /// A goroutine that ends its step with a yielded park (ParkOutcome.Yield): behind runnext on this M's P (at the
    /// ring's tail, or in runnext if a thief emptied it meanwhile), or on the global queue if the M lost its P.
    /// </summary>
    internal static void ReadyBehindNext(Goroutine g)
    {
        if (Machine.Current is { } m) ReadyNew(g, m); // the same placement as a new goroutine's
        else ReadyGlobal(g);
    }

    /// <summary>Racy: the current M's P has a goroutine in runnext, which runs as soon as the current step ends.</summary>
    internal static bool NextIsWaiting() => Machine.Current is { P: { } p } && p.Runq.HasNext;

    /// <summary>
    /// Readies a goroutine just started on <paramref name="m"/>: into runnext if it is empty (Go's newproc), else at
    /// the tail of the ring rather than kicking runnext's occupant there. In a loop that starts many goroutines the
    /// two orders differ only in which of the new ones runs first, and this one saves a wake-up per start.
    /// </summary>
    internal static void ReadyNew(Goroutine g, Machine m)
    {
        if (!TryReadyLocal(g, m, kickNext: false)) ReadyGlobal(g);
    }

    /// <summary>
    /// Puts <paramref name="g"/> on <paramref name="m"/>'s own P: between steps the M owns it outright, inside a step
    /// it pins it Busy, which costs no interlocked operation (Processor). False if the M has no P or lost it.
    /// A goroutine that lands alone in runnext wakes nobody: it runs as soon as the current one parks (see PushNext).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryReadyLocal(Goroutine g, Machine m, bool kickNext)
    {
        if (m.P is not { } p) return false;
        bool pinned = m.InStep;
        if (pinned && !p.TryEnterBusy(m, m.Gen)) return false;
        bool wake;
        if (Volatile.Read(ref p.NextWanted) != 0)
        {
            // A thief found only runnext here: give it what it can take (see RunQueue's essay).
            p.NextWanted = 0;
            p.Runq.PushReleasingNext(g);
            wake = true;
        }
        else if (kickNext)
        {
            wake = p.Runq.PushNext(g);
        }
        else
        {
            wake = !p.Runq.TryPutNext(g);
            if (wake) p.Runq.Push(g);
        }
        if (pinned) Processor.ExitBusy(m);
        if (wake) Wakep();
        return true;
    }

    /// <summary>Puts <paramref name="g"/> at the back of the global queue (new goroutines from plain threads, Yield).</summary>
    internal static void ReadyGlobal(Goroutine g)
    {
        if (g.Bubble is { } bubble) { bubble.Enqueue(g); return; }
        EnsureStarted();
        Global.Push(g);
        Wakep();
    }

    /// <summary>Starts an M to spin for work if a P is idle and no M is spinning already (Go's wakep).</summary>
    internal static void Wakep()
    {
        if (Volatile.Read(ref IdleCount) == 0) return;
        if (Volatile.Read(ref Spinning) != 0 || Interlocked.CompareExchange(ref Spinning, 1, 0) != 0) return;
        Processor? p;
        lock (SchedLock) p = PidleGetLocked();
        if (p is null)
        {
            Interlocked.Decrement(ref Spinning);
            return;
        }
        StartM(p, spinning: true);
    }

    /// <summary>Hands <paramref name="p"/> (taken from the idle list or retaken) to an idle M, or to a new one.</summary>
    internal static void StartM(Processor p, bool spinning)
    {
        Machine? m;
        int number = 0;
        lock (SchedLock)
        {
            m = s_midle;
            if (m is not null)
            {
                s_midle = m.IdleLink;
                m.IdleLink = null;
                m.IsIdle = false;
                s_nmidle--;
                m.NextP = p;
                m.NextSpinning = spinning;
            }
            else
            {
                if (s_mcount >= MaxThreads)
                    throw new InvalidOperationException($"Weft needs more than {MaxThreads} threads: that many goroutines are blocked in synchronous calls at once. Use async I/O, or Go.Blocking on a bounded executor.");
                number = ++s_mcount;
            }
        }
        Sysmon.Notify();
        if (m is not null)
        {
            Interlocked.Increment(ref s_unparks);
            m.Parker.Unpark();
        }
        else
        {
            var created = new Machine(number, p, spinning, RuntimeConfig.Current.StackSize);
            lock (SchedLock) s_allm = [.. s_allm, created];
        }
    }

    private static Machine[] s_allm = []; // every M ever created; replaced under SchedLock, read racily

    internal static long FinishedOnMachines()
    {
        long n = 0;
        foreach (var m in Volatile.Read(ref s_allm)) n += Volatile.Read(ref m.Finished);
        return n;
    }

    /// <summary>Go's handoffp: decides who gets a P whose M is blocked (sysmon) or about to block (Go.Blocking).</summary>
    internal static void HandoffP(Processor p)
    {
        if (p.Retiring)
        {
            RetireP(p);
            return;
        }
        if (p.HasWork || Global.Count > 0)
        {
            StartM(p, spinning: false);
            return;
        }
        // No local work: keep one spinner around if nobody spins and no P is idle, so new work finds an M.
        if (Volatile.Read(ref Spinning) + Volatile.Read(ref IdleCount) == 0 && Interlocked.CompareExchange(ref Spinning, 1, 0) == 0)
        {
            StartM(p, spinning: true);
            return;
        }
        // Something waits on the netpoller and no M blocks in epoll_wait: this P's M was the one that would have polled
        // before parking (it armed while holding the P), and it leaves without passing the idle path. Start an M that
        // will (Go's handoffp: "need to wakeup another M to poll network").
        if (Netpoll.HasWaiters && !Netpoll.SomeoneBlocks)
        {
            StartM(p, spinning: false);
            return;
        }
        lock (SchedLock) PidlePutLocked(p);
        if (p.Timers.NextWhen != Clock.Never) OnTimerAdded(p.Timers.NextWhen);
    }

    // ---- Idle lists (SchedLock held) ----------------------------------------------------------------------------

    internal static Processor? PidleGet() => PidleGetLocked();

    private static Processor? PidleGetLocked()
    {
        var p = s_pidle;
        if (p is null) return null;
        s_pidle = p.IdleLink;
        p.IdleLink = null;
        Volatile.Write(ref IdleCount, IdleCount - 1);
        if (IdleCount == s_allp.Length - 1) Sysmon.Notify();
        return p;
    }

    /// <summary>The owner releases <paramref name="p"/> to the idle list (or out of service if it is retiring).</summary>
    internal static void PidlePut(Processor p, long gen)
    {
        p.Release(gen);
        if (p.Retiring) { RetireP(p); return; }
        PidlePutLocked(p);
        Interlocked.Increment(ref s_parks);
    }

    private static void PidlePutLocked(Processor p)
    {
        p.IdleLink = s_pidle;
        s_pidle = p;
        Volatile.Write(ref IdleCount, IdleCount + 1);
    }

    /// <summary>
    /// SchedLock held: <paramref name="m"/> becomes the poller M if the netpoller is in use (something armed, or a
    /// timer to wait for: <paramref name="deadline"/>) and no M polls already. The read of Netpoll.HasWaiters comes
    /// after the M released its P or stopped spinning (both full fences), the other half of OnArmed's Dekker pair.
    /// </summary>
    internal static bool TryBecomePoller(Machine m, ref long deadline)
    {
        if (s_pollerM is not null || !Netpoll.IsInitialized) return false;
        // Another M sleeps on its parker until the earliest timer: the poller M takes that timer over, so that while an
        // M blocks in epoll_wait it is the one that sleeps for timers (the other wakes at its old deadline, for nothing).
        bool takeTimers = deadline == Clock.Never && s_timerM is not null && s_timerM != m;
        if (!takeTimers && deadline == Clock.Never && !Netpoll.HasWaiters) return false;
        if (takeTimers)
        {
            s_timerM = m;
            deadline = Volatile.Read(ref s_timerDeadline);
        }
        s_pollerM = m;
        m.Polling = true;
        return true;
    }

    /// <summary>SchedLock held: the poller M returned from epoll_wait.</summary>
    internal static void EndPoll(Machine m)
    {
        if (s_pollerM == m) s_pollerM = null;
        m.Polling = false;
    }

    /// <summary>The M in epoll_wait now, or null; racy, for tests.</summary>
    internal static Machine? PollerM => Volatile.Read(ref s_pollerM);

    /// <summary>Every P is on the idle list (racy): nothing runs goroutines, so the poller M's spin takes no one's CPU.</summary>
    internal static bool EveryPIdle => Volatile.Read(ref IdleCount) >= AllP.Length;

    internal static void MidlePut(Machine m)
    {
        m.IdleLink = s_midle;
        s_midle = m;
        m.IsIdle = true;
        s_nmidle++;
    }

    internal static void MidleRemove(Machine m)
    {
        if (!m.IsIdle) return;
        Machine? prev = null;
        for (var cur = s_midle; cur is not null; prev = cur, cur = cur.IdleLink)
        {
            if (cur != m) continue;
            if (prev is null) s_midle = m.IdleLink; else prev.IdleLink = m.IdleLink;
            break;
        }
        m.IdleLink = null;
        m.IsIdle = false;
        s_nmidle--;
    }

    /// <summary>True if any P's queue or the global queue holds a goroutine (racy; used to re-check before parking).</summary>
    internal static bool AnyWork(Processor[] allp)
    {
        // runnext does not count: a goroutine there wakes nobody when it is put (its P's owner runs it next), so no
        // producer skipped a wake-up for it. Counting it kept a spinner cycling while a producer/consumer pair
        // refilled runnext every few hundred nanoseconds, each round ending in a patient steal attempt that the
        // owner beat: a core burnt for nothing (the select workload slowed badly).
        if (Global.Count > 0) return true;
        foreach (var p in allp) if (!p.Runq.RingIsEmpty) return true;
        return false;
    }

    // ---- Timers -------------------------------------------------------------------------------------------------

    internal static long EarliestTimer()
    {
        long min = Clock.Never;
        foreach (var p in AllP)
        {
            long w = p.Timers.NextWhen;
            if (w < min) min = w;
        }
        return min;
    }

    internal static void RunAllTimers(long now)
    {
        foreach (var p in AllP) p.Timers.RunExpired(now);
    }

    /// <summary>
    /// A parking M computes how long it may sleep: until the earliest timer if it becomes the timer M, else forever.
    /// The deadline is published before the heaps are read again (both sides use full fences), so a timer added
    /// concurrently is either seen here or sees the deadline and wakes us (a Dekker pair with OnTimerAdded).
    /// </summary>
    internal static long PrepareTimedPark(Machine m)
    {
        long earliest = EarliestTimer();
        if (earliest == Clock.Never) return Clock.Never;
        lock (SchedLock)
        {
            if (s_timerM is not null && s_timerDeadline <= earliest) return Clock.Never;
            s_timerM = m;
            Interlocked.Exchange(ref s_timerDeadline, earliest);
        }
        long again = EarliestTimer();
        if (again < earliest)
        {
            lock (SchedLock) if (s_timerM == m) Interlocked.Exchange(ref s_timerDeadline, again);
            return again;
        }
        return earliest;
    }

    /// <summary>The M sleeping until the earliest timer, or null; racy, for tests.</summary>
    internal static Machine? TimerM => Volatile.Read(ref s_timerM);

    internal static void EndTimedPark(Machine m)
    {
        if (Volatile.Read(ref s_timerM) != m) return;
        lock (SchedLock)
        {
            if (s_timerM != m) return;
            s_timerM = null;
            Volatile.Write(ref s_timerDeadline, Clock.Never);
        }
    }

    /// <summary>A heap's earliest deadline dropped to <paramref name="when"/>: make sure some M wakes by then.</summary>
    internal static void OnTimerAdded(long when)
    {
        Interlocked.MemoryBarrier(); // pairs with the exchange in PrepareTimedPark
        if (when >= Volatile.Read(ref s_timerDeadline) && Volatile.Read(ref s_timerM) is not null) return;
        Machine? sleeper;
        bool polling;
        lock (SchedLock)
        {
            sleeper = s_timerM;
            polling = sleeper is not null && sleeper.Polling; // set and cleared under SchedLock around its epoll_wait
            if (sleeper is null && s_pollerM is { } poller)
            {
                // No timer M, but an M blocks in epoll_wait (maybe with no timeout): it takes the timer (Go's wakeNetPoller).
                sleeper = poller;
                polling = true;
            }
        }
        if (sleeper is not null)
        {
            if (polling) Netpoll.Interrupt(); // the timer M is the poller M: its timeout is the old earliest timer
            else sleeper.Parker.Unpark();
            return;
        }
        // No M sleeps on timers: every M is running (and will check its heap) or parked with no deadline.
        if (Volatile.Read(ref IdleCount) > 0)
        {
            Processor? p;
            lock (SchedLock) p = PidleGetLocked();
            if (p is not null) StartM(p, spinning: false);
        }
    }

    /// <summary>
    /// "Now" for timers created by the calling code: a bubble's virtual clock inside a bubble, the real clock
    /// elsewhere. Every timer deadline is computed from this and handed to <see cref="AddTimer"/> on the same thread.
    /// </summary>
    internal static long TimerNow()
    {
        var bubble = SynctestBubble.Current;
        return bubble is null ? Clock.Now : bubble.NowTicks;
    }

    /// <summary>Picks a heap for a timer: a bubble's own (virtual time); else the current P's when this thread holds one (pinned), else any P's.</summary>
    internal static void AddTimer(TimerNode t, long when)
    {
        if (SynctestBubble.Current is { } bubble)
        {
            bubble.Timers.Add(t, when);
            return;
        }
        EnsureStarted();
        var m = Machine.Current;
        if (m is not null && m.P is { } p && !p.Retiring)
        {
            if (!m.InStep)
            {
                p.Timers.Add(t, when);
                return;
            }
            if (p.TryEnterBusy(m, m.Gen))
            {
                // Pinned: the P cannot be retaken, so its owner will see this timer at its next scheduling point.
                try { p.Timers.Add(t, when); }
                finally { Processor.ExitBusy(m); }
                return;
            }
        }
        var allp = AllP;
        allp[(Environment.CurrentManagedThreadId & int.MaxValue) % allp.Length].Timers.Add(t, when);
    }

    // ---- MaxProcs -----------------------------------------------------------------------------------------------

    internal static int MaxProcs => s_started ? AllP.Length : RuntimeConfig.Current.MaxProcs;

    /// <summary>Go's procresize, without stopping the world: new Ps join idle; surplus Ps retire at their owner's next scheduling point.</summary>
    internal static void Resize(int n)
    {
        EnsureStarted();
        lock (s_resizeLock)
        {
            var retireNow = new List<Processor>();
            lock (SchedLock)
            {
                var old = s_allp;
                if (n == old.Length) return;
                var next = new Processor[n];
                Array.Copy(old, next, Math.Min(n, old.Length));
                for (int i = old.Length; i < n; i++)
                {
                    next[i] = new Processor(i);
                    PidlePutLocked(next[i]);
                }
                for (int i = n; i < old.Length; i++)
                {
                    var p = old[i];
                    p.Retiring = true;
                    if (RemoveIdleLocked(p)) retireNow.Add(p);
                }
                Volatile.Write(ref s_allp, next);
            }
            foreach (var p in retireNow) RetireP(p);
            for (int i = 0; i < n; i++) Wakep();
        }
    }

    private static bool RemoveIdleLocked(Processor p)
    {
        Processor? prev = null;
        for (var cur = s_pidle; cur is not null; prev = cur, cur = cur.IdleLink)
        {
            if (cur != p) continue;
            if (prev is null) s_pidle = p.IdleLink; else prev.IdleLink = p.IdleLink;
            p.IdleLink = null;
            Volatile.Write(ref IdleCount, IdleCount - 1);
            return true;
        }
        return false;
    }

    /// <summary>Takes a retiring P out of service: its goroutines go to the global queue, its timers to P0.</summary>
    internal static void RetireP(Processor p)
    {
        var gs = new List<Goroutine>();
        p.Runq.DrainTo(gs);
        Global.PushAll(gs);
        var allp = AllP;
        p.Timers.MoveAllTo(allp[0].Timers);
        if (gs.Count > 0) Wakep();
    }
}
