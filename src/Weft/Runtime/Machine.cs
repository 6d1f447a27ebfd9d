// Machine — an M: an OS thread that runs goroutines while it holds a P.
//
// The loop (Go's schedule/findRunnable, tokio's worker run loop):
//   1. Hold a P, or wait for one (parked on the M's own Parker; StartM hands a P over under the scheduler lock).
//   2. Find a goroutine: own timers, the global queue every 61st step (fairness), runnext and the local ring,
//      a batch from the global queue, then — if fewer than half the busy Ps already spin — steal half of a random
//      victim's ring (and, on the last round, its runnext and due timers).
//   3. Run one step of it (Execute). If sysmon took the P meanwhile (the step blocked), the M gives up and goes
//      back to 1 without a P, so at most MaxProcs Ms run goroutines once the blocked ones come back.
//      Before stealing it polls the netpoller once without blocking, if something waits on it (Netpoll.cs).
//   4. Nothing anywhere: release the P to the idle list and park, until StartM wakes it or the earliest timer. If
//      the netpoller is in use and no M polls, it blocks in epoll_wait instead (the poller M, Netpoll.cs "Who
//      polls"), takes an idle P when that returns, and only then runs the handlers, so what they ready lands on it.
//
// Spinning (Go's protocol, which keeps both wake-up latency and futex traffic low):
//   * wakep() starts an M only when there is an idle P and no M spins already (CAS on Scheduler.Spinning);
//   * a spinning M that finds work stops spinning and, if it was the last spinner, calls wakep() for the next;
//   * a spinning M that gives up decrements the count first and then looks at every queue once more, because a
//     producer that saw it spinning skipped its wake-up.
//
// Threads are created with a large reserved stack (Go.StackSize, 16 MB by default): a goroutine's synchronous
// recursion runs on its M's stack, and Linux commits stack pages only as they are touched.

using System.Runtime.CompilerServices;

namespace Weft.Runtime;

internal sealed class Machine
{
#pragma warning disable IDE1006 // [ThreadStatic] fields take the .NET runtime's t_ prefix, which the naming rules cannot express
    [ThreadStatic] private static Machine? t_current;
#pragma warning restore IDE1006

    /// <summary>The M this thread is, or null on a thread Weft did not create.</summary>
    public static Machine? Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_current;
    }

    // Owned by this M's thread.
    public Processor? P;
    public long Gen;
    public bool InStep;
    public bool Spinning;

    /// <summary>Processor.StepScheduling/StepRunning/StepBusy: written only by this M, read by sysmon (see Processor).</summary>
    public int StepState;
    private bool _timerWake;
    private uint _rng;

    // Hand-over from StartM; guarded by the scheduler lock.
    public Processor? NextP;
    public bool NextSpinning;
    public Machine? IdleLink;
    public bool IsIdle;

    /// <summary>True while this M is the poller M, blocked in epoll_wait (Netpoll.cs); guarded by the scheduler lock.</summary>
    public bool Polling;

    /// <summary>Set when a poll returned and found no idle P: the next park is on the parker (Go's stopm). Owner only.</summary>
    private bool _parkNextTime;

    /// <summary>The events of this M's last blocking poll (created when it first polls). Owner only.</summary>
    private PollEvents? _pollEvents;

    /// <summary>Goroutines finished on this M; written only by its thread, summed racily by Registry.</summary>
    public long Finished;

    public readonly Parker Parker = new();
    public readonly int Number;

    public Machine(int number, Processor? p, bool spinning, int stackSize)
    {
        Number = number;
        NextP = p;
        NextSpinning = spinning;
        _rng = (uint)(number * 2654435761u) | 1;
        var t = new Thread(Run, stackSize) { IsBackground = true, Name = "weft-m" + number };
        t.UnsafeStart();
    }

    private void Run()
    {
        t_current = this;
        while (true)
        {
            if (P is null && !WaitForP()) continue;
            var g = FindRunnable();
            if (g is not null) Execute(g);
        }
    }

    private void Execute(Goroutine g)
    {
        var p = P!;
        ModelPoint.Here();
        Volatile.Write(ref p.SchedTick, p.SchedTick + 1);
        InStep = true;
        Processor.EnterStep(this);
        try
        {
            g.RunStep();
        }
        finally
        {
            InStep = false;
            // Go.Blocking may have swapped (or dropped) the P during the step: read it again.
            p = P;
            if (p is not null && !p.ExitStep(this, Gen))
            {
                // Sysmon handed our P to another M while this step blocked. Give it up (Go's exitsyscall).
                P = null;
            }
        }
    }

    /// <summary>Takes the P StartM handed over (caller holds the scheduler lock).</summary>
    private void TakeHandedP()
    {
        P = NextP;
        NextP = null;
        Gen = P!.Acquire(this);
        Spinning = NextSpinning;
        NextSpinning = false;
    }

    /// <summary>Without a P: take an idle one, or park until one is handed over. False to loop again.</summary>
    private bool WaitForP()
    {
        lock (Scheduler.SchedLock)
        {
            if (NextP is not null) { TakeHandedP(); return true; }
            var idle = Scheduler.PidleGet();
            if (idle is not null)
            {
                P = idle;
                Gen = idle.Acquire(this);
                return true;
            }
        }
        ParkIdle();
        return false;
    }

    /// <summary>
    /// Parks this P-less M until it is handed a P or the earliest timer is due; or, when the netpoller is in use and
    /// nobody polls, blocks in epoll_wait instead, as the poller M (Netpoll.cs, "Who polls", 1).
    /// </summary>
    private void ParkIdle()
    {
        long deadline = Scheduler.PrepareTimedPark(this);
        bool poll = false, handTimersOver = false;
        lock (Scheduler.SchedLock)
        {
            if (NextP is not null) { Scheduler.EndTimedPark(this); TakeHandedP(); return; }
            if (!_parkNextTime && Scheduler.TryBecomePoller(this, ref deadline)) poll = true;
            else
            {
                Scheduler.MidlePut(this);
                // Another M blocks in epoll_wait: the earliest timer becomes its timeout rather than a second sleeper's.
                handTimersOver = deadline != Clock.Never && Scheduler.PollerM is { Polling: true };
            }
        }
        _parkNextTime = false;
        if (poll)
        {
            PollIdle(deadline);
            return;
        }
        if (handTimersOver)
        {
            Scheduler.EndTimedPark(this);
            deadline = Clock.Never;
            Netpoll.Interrupt(); // the poller M returns and, before it blocks again, takes the timers (PrepareTimedPark)
        }
        bool unparked = Parker.Park(deadline);
        Scheduler.EndTimedPark(this);
        lock (Scheduler.SchedLock)
        {
            if (NextP is not null) { TakeHandedP(); return; }
            Scheduler.MidleRemove(this);
            if (!unparked || Scheduler.EarliestTimer() <= Clock.Now)
            {
                var idle = Scheduler.PidleGet();
                if (idle is not null)
                {
                    P = idle;
                    Gen = idle.Acquire(this);
                    _timerWake = true;
                }
            }
        }
    }

    /// <summary>
    /// The poller M: blocks in epoll_wait until an event, the earliest timer or an interrupt; then takes an idle P (if
    /// any) before it runs the handlers, so the goroutines they ready go to that P's run queue (Go's findRunnable
    /// after netpoll(delay)). Without an idle P, they go to the global queue and the next park is on the parker.
    /// </summary>
    private void PollIdle(long deadline)
    {
        var events = _pollEvents ??= new PollEvents();
        int n = Netpoll.WaitBlocking(events, deadline);
        Scheduler.EndTimedPark(this);
        lock (Scheduler.SchedLock)
        {
            Scheduler.EndPoll(this);
            var idle = Scheduler.PidleGet();
            if (idle is not null)
            {
                P = idle;
                Gen = idle.Acquire(this);
                _timerWake = Scheduler.EarliestTimer() <= Clock.Now;
            }
        }
        if (P is null) _parkNextTime = true;
        if (n > 0) Netpoll.Dispatch(events, n, PollSource.PollerM);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint NextRandom()
    {
        uint x = _rng;
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        return _rng = x;
    }

    /// <summary>Finds a goroutine to run, holding P in the Scheduling state. Null when the P was given up.</summary>
    private Goroutine? FindRunnable()
    {
        _parkNextTime = false; // holding a P again: when it is released, this M may become the poller M
        while (true)
        {
            var p = P!;
            if (p.Retiring)
            {
                Scheduler.RetireP(p);
                p.Release(Gen);
                P = null;
                if (Spinning) StopSpinning();
                return null;
            }

            if (_timerWake)
            {
                _timerWake = false;
                Scheduler.RunAllTimers(Clock.Now);
            }
            else
            {
                long next = p.Timers.NextWhen;
                if (next != Clock.Never)
                {
                    long now = Clock.Now;
                    if (next <= now) p.Timers.RunExpired(now);
                }
            }

            Goroutine? g;
            if (p.SchedTick % 61 == 0 && Scheduler.Global.Count > 0)
            {
                g = Scheduler.Global.PopBatch(null, 1);
                if (g is not null) return Found(g);
            }

            g = p.Runq.Pop(p.RunnextStreak >= Scheduler.RunnextCap, out bool fromNext);
            if (g is not null)
            {
                p.RunnextStreak = fromNext ? p.RunnextStreak + 1 : 0;
                return Found(g);
            }

            var allp = Scheduler.AllP;
            g = Scheduler.Global.PopBatch(p.Runq, allp.Length);
            if (g is not null) return Found(g);

            // Before stealing, look at the netpoller if something waits on it and no M blocks there (Go's netpoll(0)
            // in findRunnable): the goroutines it readies land on this P. Not when every other P is idle (Go polls
            // then too): there is nothing to steal, so this M gives its P back next and, with no M in epoll_wait,
            // blocks there itself, where the same events wake it at once. The look would be a second epoll_wait per
            // wake-up on the path of a latency-bound exchange (a goroutine that answers a pipe, its only work).
            if (Netpoll.HasWaiters && !Netpoll.SomeoneBlocks && !Netpoll.SearchingPollsOff
                && Volatile.Read(ref Scheduler.IdleCount) < allp.Length - 1
                && Netpoll.PollNow(PollSource.Searching) > 0)
            {
                g = p.Runq.Pop(false, out _);
                if (g is not null) return Found(g);
            }

            if (Spinning || 2 * Volatile.Read(ref Scheduler.Spinning) < allp.Length - Volatile.Read(ref Scheduler.IdleCount))
            {
                if (!Spinning)
                {
                    Spinning = true;
                    Interlocked.Increment(ref Scheduler.Spinning);
                }
                g = StealWork(p, allp);
                if (g is not null) return Found(g);
            }

            // Nothing to do: give the P back and sleep.
            lock (Scheduler.SchedLock)
            {
                g = Scheduler.Global.PopBatch(p.Runq, allp.Length);
                if (g is null)
                {
                    Scheduler.PidlePut(p, Gen);
                    P = null;
                }
            }
            if (g is not null) return Found(g);

            if (Spinning)
            {
                StopSpinning();
                // A producer may have skipped its wakep() because we were spinning: look once more.
                if (Scheduler.AnyWork(allp))
                {
                    lock (Scheduler.SchedLock)
                    {
                        var idle = Scheduler.PidleGet();
                        if (idle is not null)
                        {
                            P = idle;
                            Gen = idle.Acquire(this);
                        }
                    }
                    if (P is not null)
                    {
                        Spinning = true;
                        Interlocked.Increment(ref Scheduler.Spinning);
                        continue;
                    }
                }
            }

            ParkIdle();
            if (P is null) return null;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Goroutine Found(Goroutine g)
    {
        if (Spinning)
        {
            StopSpinning();
            // The last spinner to find work wakes another, in case there is more (Go's resetspinning).
            if (Volatile.Read(ref Scheduler.Spinning) == 0) Scheduler.Wakep();
        }
        return g;
    }

    private void StopSpinning()
    {
        Spinning = false;
        Interlocked.Decrement(ref Scheduler.Spinning);
    }

    private Goroutine? StealWork(Processor self, Processor[] allp)
    {
        int n = allp.Length;
        if (n <= 1) return null;
        for (int round = 0; round < 4; round++)
        {
            bool last = round == 3;
            int start = (int)(NextRandom() % (uint)n);
            for (int i = 0; i < n; i++)
            {
                var victim = allp[(start + i) % n];
                if (victim == self) continue;
                if (last)
                {
                    long nw = victim.Timers.NextWhen;
                    if (nw != Clock.Never)
                    {
                        long now = Clock.Now;
                        if (nw <= now && victim.Timers.RunExpired(now) > 0)
                        {
                            var mine = self.Runq.Pop(false, out _);
                            if (mine is not null) return mine;
                        }
                    }
                }
                if (victim.Runq.IsEmpty) continue;
                var g = victim.Runq.StealInto(self.Runq);
                // Only runnext there: ask its owner to release it to the ring at its next put, and keep looking
                // (a later round may find it there). See RunQueue's essay.
                if (g is null && victim.Runq.HasNext && Volatile.Read(ref victim.NextWanted) == 0) Volatile.Write(ref victim.NextWanted, 1);
                if (g is not null)
                {
                    Scheduler.CountSteal();
                    return g;
                }
            }
        }
        return null;
    }

    /// <summary>Go.Blocking: hands the P to another M for the duration of a call known to block.</summary>
    public void EnterBlocking()
    {
        var p = P;
        if (p is null || !InStep) return;
        if (p.Surrender(Gen))
        {
            P = null;
            Scheduler.HandoffP(p);
        }
    }

    /// <summary>Go.Blocking returned: take an idle P if there is one; otherwise finish the step without one.</summary>
    public void ExitBlocking()
    {
        if (P is not null || !InStep) return;
        ModelPoint.Here();
        lock (Scheduler.SchedLock)
        {
            var idle = Scheduler.PidleGet();
            if (idle is null) return;
            P = idle;
            Gen = idle.Acquire(this);
        }
        Processor.EnterStep(this);
    }
}
