// Netpoll — the runtime's network poller: tells Weft when a file descriptor can be read or written without
// blocking, so that IPC endpoints (pipes, sockets, message queues) wait like channels, with no thread blocked per
// descriptor. It has no thread of its own: the scheduler's Ms and sysmon call epoll_wait, as Go's runtime does.
//
// Glossary
//   PollDesc   one registered descriptor (Go's pollDesc), with a readiness state per direction.
//   arm        "call me (or wake me) once this direction is ready": the owner tried the I/O, got EAGAIN, and arms.
//   handler    the owner's callback object (IPollHandler), called on readiness after an arm; a channel transport
//              uses it to pull from the kernel and complete its waiters (Channels/Chan.Transport.cs).
//   poller M   the one idle M that blocks in epoll_wait instead of on its parker (Scheduler.PollerM, Go's
//              "sched.lastpoll == 0"). At most one at a time; the other idle Ms park as before.
//
// Mechanics: one epoll instance, every descriptor added once with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET (an owner
// may ask for fewer directions, PollInterest, and set them again later with Watch: a message queue, whose wakeups do not say
// which direction changed, would otherwise wake the poller on every message in either direction). Edge
// triggered, so the kernel reports a direction again only after it was drained (EAGAIN) and became ready anew: no
// re-arming system call per wait (EPOLLONESHOT would need an epoll_ctl per wait), and no storm of repeated events for a
// descriptor that stays readable while nobody reads it. An edge that nobody has retrieved yet stays queued in the
// epoll instance until some epoll_wait returns it, whoever calls it and whenever.
//
// The per-direction state (Go's rg/wg, without the goroutine pointer): Idle, Ready or Armed, changed only by CAS.
//   event   Armed -> Idle and call the handler; Idle -> Ready (nobody waits: remember it); Ready stays.
//   arm     Ready -> Idle and return false ("readiness came since your last try: try the I/O again now");
//           Idle -> Armed and return true ("you will be called"); Armed stays (another waiter armed it).
// So an edge that arrives between the owner's EAGAIN and its arm is never lost: either the event sees Armed and
// calls, or the arm sees Ready and the owner retries. A stale Ready costs one retry that meets EAGAIN again. Which
// thread retrieved the edge does not matter to this argument: the states are changed by CAS from any thread.
//
// Drained (what an owner may take as "the kernel was empty", so that the next edge is certain): a read(2) that said
// EAGAIN, or a read(2) of a stream (pipe, FIFO, Unix or TCP socket) that returned fewer bytes than it asked for,
// which those kernels do only when their queue ran empty under the read (tokio/mio's rule for the same edge-triggered
// epoll; the one exception, TCP urgent data, which stops a read at its mark, is never sent by a Weft peer, and a
// stream that carries it is not Weft's framing anyway). Bytes that arrive after either raise a new edge: a pipe wakes
// its polled readers on a write into an empty pipe (and on every write since Linux 5.14), a socket on every enqueued
// buffer. The edge can reach the owner late
// (nobody has called epoll_wait yet) but not never, and the state machine above hands it over whenever it comes. So
// an owner that remembers ReadEdges (a count of the read edges dispatched for the descriptor, taken before that read)
// may, while the count is unchanged, answer "nothing now" without the read, provided it then arms, since an edge
// that no one dispatched yet must still come. If an edge was dispatched meanwhile (the count moved), the owner cannot
// tell whether it was for bytes after the drain and consumed by a pump that found no waiter, so it reads. Only the
// stream receiver's parking receive uses this (Streams/StreamReceiver.cs); a try or a select's poll always reads, so
// "ready" keeps meaning "the kernel has bytes". The protocol above is unchanged: the count is an observation, not a
// state. Its increment comes before the CAS that consumes the edge, and the owner reads it under the channel lock,
// which the handler's pump takes after that CAS: an owner that missed the increment queued its waiter before the pump
// looked, and the pump serves it; one that comes after the pump sees the count moved, and reads. An edge that finds
// the direction Idle leaves it Ready, and the owner's arm then says "try again". DrainedReceiveTests pin the case
// the count exists for (an arm left by a cancelled receive, fired by an edge whose pump found no waiter).
//
// Who polls (Go's findRunnable, netpoll and sysmon, rewritten for Weft's scheduler; Machine.cs, Sysmon.cs)
//   1. The poller M. An M with nothing to run releases its P as before; then, if the netpoller is initialised, some
//      direction is armed or a timer is pending, and no M polls already, it becomes the poller M and blocks in
//      epoll_wait with a timeout up to the earliest timer. It returns on an event, on that timeout, or on an interrupt
//      through the eventfd (Interrupt, Go's netpollBreak). When it returns it takes an idle P if there is one, and
//      only then runs the handlers, so the goroutines they ready go into that P's runnext and ring (Scheduler.Ready on
//      an M that holds its P between steps), never through the global queue. With no idle P (every P busy) the
//      handlers ready to the global queue and the M parks normally once (Go: stopm), leaving the polling to sysmon
//      and to the next M to go idle.
//      Timers: while an M blocks in epoll_wait, it is the scheduler's timer M, the only M that sleeps for timers, as
//      in Go. An M that becomes the poller while another sleeps on its parker for the earliest timer takes that timer
//      over (the other wakes at its old deadline, for nothing); an M about to sleep on its parker for the earliest
//      timer while another polls hands the timer over (it interrupts the poller, which takes the timer before it
//      blocks again); a timer earlier than the poller's timeout, or added while there is no timer M, interrupts it
//      (Go's wakeNetPoller).
//   2. An M looking for work, before it steals: one non-blocking epoll_wait when something is armed and no M blocks
//      in the poller (Go's "netpoll(0) is only an optimisation before stealing"); readied goroutines go to its P.
//   3. Sysmon, every tick, when something is armed, no M blocks in the poller and nobody has polled for a tick
//      (Go's 10 ms check), so readiness is never starved by Ps that stay busy. It holds no P: what it readies goes to
//      the global queue, and Wakep starts an M for it.
//   4. An arm from a thread that is not an M holding a P (a plain thread blocked in Receive, a ThreadPool
//      continuation, a handler run by sysmon) while nobody blocks in the poller: it calls Scheduler.Wakep (starting
//      the scheduler if it has not started). Either an idle P gets a spinning M, which finds no work and becomes the
//      poller M, or no P is idle, and then some M is running and sysmon ticks (3).
//   5. A P handed off without passing the idle path (Go.Blocking, a thread-blocking wait inside a goroutine, sysmon's
//      retake): if something is armed and no M blocks in epoll_wait, HandoffP starts an M for it instead of putting
//      it on the idle list, since its old M, which would have polled before parking, now blocks elsewhere (Go's
//      handoffp). And sysmon does not sleep deeply while something is armed and no M blocks in epoll_wait: it keeps
//      ticking and polling, the backstop for any path that leaves every P idle without a poller.
// Liveness, the invariant all five keep together: while any direction is Armed, either an M blocks in epoll_wait,
// or some P is owned (its M will look at the netpoller before it parks (1, 2) and sysmon ticks while it is owned
// (3)), or a wake-up is on its way to an M that will poll. The pairs that make this hold are Dekker pairs of full
// fences: the arm's Interlocked increment of s_armed, then its read of the poller and of IdleCount/Spinning
// (Wakep), against the M's release of its P or decrement of Spinning (interlocked, or the scheduler lock's CAS),
// then its read of s_armed under the scheduler lock before it decides how to park.
//
// The interrupt: an eventfd in the epoll set, level triggered (the only level-triggered descriptor), so a
// non-blocking poll by sysmon or by a searching M sees it but leaves it for the blocking poller: only a blocking poll
// drains it. s_wakeSig makes a burst of interrupts one write (Go's netpollWakeSig). A stale interrupt (the poller had
// already returned) makes the next blocking poll return at once: one extra round, never a missed wake-up.
//
// The spin (WEFT_NETPOLL_SPIN_US, default 20 µs, 0 turns it off): before the poller M blocks, it polls without
// blocking, yielding its CPU between polls, for up to a window, but only while every P is idle, so it never takes
// CPU from goroutines of this process (and the yield gives it to any other runnable thread of that CPU). Why: a
// request-reply over a pipe or socket is a chain of hops in which each side goes idle and is woken by the other's
// write. On a machine whose idle CPUs halt (a VM guest above all), that wake-up of a halted CPU costs tens of
// microseconds, several times the hop itself; a reply that comes within the window is taken by a poll on a CPU that
// never halted. The window adapts as a guest's haltpoll does: after a spin that missed, an event that ended the
// blocking wait "near" grows it, a later one shrinks it, and below an eighth of the ceiling it closes until a near
// event reopens it. Near is within four times the ceiling, not within the ceiling: the idle time is measured after
// the blocking wait returned, so it includes the very wake-up of a halted CPU that the spin avoids, which on such a
// machine is itself longer than the ceiling. With "within the ceiling", a closed window measured every reply late
// and never reopened: the spin turned itself off exactly where it pays. So an idle program whose events are far
// apart stops spinning, and the cost is bounded by the ceiling per idle period.
// Contended: a spin yields between its polls, so that a thread that needs this CPU (the peer process on a machine
// with fewer free CPUs than busy threads) goes first. But on a CPU that other work keeps busy, the yield hands that
// work a whole time slice, and a thread that is runnable, not blocked, is not preempted by the event it waits for:
// a reply that a blocked poller would have taken within microseconds (the kernel's wake-up preemption) waits for the
// slice to end, a millisecond or more. Measured with two CPU hogs beside ipc-shm: a round trip went from tens of
// microseconds to more than one millisecond in half the runs (docs/performance.md). So a yield that kept the poller off
// its CPU for a millisecond (a slice given away; a shorter one is the peer's hop on this CPU, or the hypervisor's
// steal, which a threshold of the window's own length mistook for contention on a quiet VM and so turned the spin
// off where it pays most) ends the spin at once, and the next idle periods block without spinning:
// 8 of them, doubling on each contended spin up to 1024; a contended spin more than a second after the last one
// starts again at 8. A lost slice costs as much as a hundred hits save, so the backoff must not reset on one clean
// spin (it did at first: with the CPUs saturated, about 1% of spins were contended, and the round trip was no better
// than without a spin, and often worse). Under lasting contention the probe costs one lost slice per 1024 idle
// periods, and the spin is back to every idle period once contention has been gone for a second. Rejected: spinning without yields (PAUSE only): under the same load it cost three times
// the blocking poll's round trip, and on one CPU shared with the peer it would hold the CPU the reply needs.
// The contended yield is the backstop; the first guard is cheaper and needs no lost slice to learn: at most every
// 20 ms the poller reads the kernel's count of runnable threads (/proc/loadavg's fourth field, one pread of a
// descriptor kept open), and it does not spin while that count, its own thread included, exceeds the CPUs this
// process may use. A spin then only ever runs on a machine with a CPU to spare. The count is the whole machine's, so
// in a container on a busy host the spin is simply off (the conservative side), and without /proc the backstop alone
// guards it.
// The spin is part of the blocking poll: s_lastPoll is 0 throughout (OnArmed need not interrupt), the interrupt's
// token ends it like any event and is drained by it, and it ends at the earliest timer. Rejected: a fixed spin (it
// burns the window on every idle period of a program whose events are far apart); spinning while Ps run goroutines
// (on a machine with as many busy threads as CPUs it takes a goroutine's CPU); Go, which does not spin in netpoll
// at all, pays the halted CPU's wake-up on every hop.
//
// Bookkeeping: goroutines waiting on readiness have their own wait reasons (IpcRead, IpcWrite) in dumps. The deadlock
// detector never reports while any direction is armed (HasWaiters): something outside the process may still make
// the descriptor ready, exactly as Go's checkdead stays silent while the netpoller has waiters.
//
// Descriptors are found from events by a token, not a GCHandle: the slot index in a table and a generation, so an
// event already read for a descriptor unregistered meanwhile (or whose slot was reused) is recognised and dropped.
//
// Rejected:
//   * A poller thread (the first design, "thread mode"): it blocked in epoll_wait and readied goroutines through the
//     global queue, so every readiness cost two wake-ups (the poller thread, then an M). It was not kept as a
//     fallback: threads that wait on IPC channels outside goroutines are served by (4), which starts the scheduler
//     if needed, and a second blocker in epoll_wait would take edges from the poller M and send its goroutines the
//     long way. One path for every waiter, not two to keep correct.
//   * Handing a P to the poller M (interrupting it) when StartM finds no idle M: Go creates an M instead, and so do
//     we. The poller keeps polling, and StartM touches only Ms parked on their parkers (NextP is never written for
//     the poller M), so the hand-over protocol is unchanged. The cost is one more thread than Ps, at most.
//   * .NET's socket engine (SocketAsyncEngine): it is private, serves only Socket, and its completions go to the
//     ThreadPool before they reach a goroutine (two hops more than Go's);
//   * level-triggered epoll for descriptors: every wakeup must be disarmed (EPOLL_CTL_MOD) or it repeats while the
//     data sits unread;
//   * a thread per descriptor blocked in read(2): a thread per endpoint, exactly what goroutines exist to avoid.
//
// Invariants
//   * A descriptor is removed from the epoll set (Unregister) before it is closed: a closed-but-registered number
//     could be reused by the next open and report readiness for the wrong file.
//   * s_armed counts the directions in state Armed; it moves only on a successful CAS into or out of Armed.
//   * At most one M blocks in epoll_wait (Scheduler.PollerM, set and cleared under the scheduler lock); s_lastPoll is
//     0 exactly while it does.
//   * Handlers run Weft's own code only, never user code: user continuations are posted (PollWaiter runs its
//     continuation asynchronously; channel waiters resume through their goroutine or captured context), so a poll
//     on an M between steps runs nothing that could block that M.

using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Weft.Runtime;

/// <summary>What a registered descriptor's owner does when a direction it armed becomes ready. Runs on the poller.</summary>
internal interface IPollHandler
{
    /// <summary>The descriptor became readable (or hung up, or failed: the next read says which).</summary>
    void OnReadable();

    /// <summary>The descriptor became writable (or failed: the next write says so).</summary>
    void OnWritable();
}

/// <summary>The directions a registered descriptor's epoll entry reports (Netpoll.Register, Netpoll.Watch).</summary>
[Flags]
internal enum PollInterest
{
    None = 0,
    Read = 1,
    Write = 2,
    Both = Read | Write,
}

/// <summary>One descriptor registered with the netpoller (Go's pollDesc). Thread-safe: arms and events race by CAS.</summary>
internal sealed class PollDesc
{
    internal const int Idle = 0, Ready = 1, Armed = 2;

    private int _read;  // Idle, Ready or Armed; CAS only
    private int _write; // Idle, Ready or Armed; CAS only
    private readonly IPollHandler? _handler;
    private PollWaiter? _readWaiter;  // created on first use by WaitAsync (handler-less descriptors)
    private PollWaiter? _writeWaiter;

    internal readonly int Fd;
    internal readonly int Slot;
    internal readonly uint Generation;
    private int _registered = 1; // 1 until Unregister

    internal PollDesc(int fd, IPollHandler? handler, int slot, uint generation)
    {
        Fd = fd;
        _handler = handler;
        Slot = slot;
        Generation = generation;
    }

    internal ulong Token => ((ulong)Generation << 32) | (uint)Slot;

    internal bool IsRegistered => Volatile.Read(ref _registered) == 1;

    /// <summary>
    /// Arms the read direction: true if the handler (or waiter) will be called on readiness; false if readiness
    /// came since the last arm, and the caller must try the read again now.
    /// </summary>
    internal bool ArmRead() => Arm(ref _read);

    /// <summary>Arms the write direction: see <see cref="ArmRead"/>.</summary>
    internal bool ArmWrite() => Arm(ref _write);

    /// <summary>
    /// How many read edges polls have dispatched for this descriptor (including Unregister's). An owner reads it
    /// before a read(2) that drains the descriptor; finding it unchanged later means no read edge came since (the
    /// essay's "Drained"). Written only by Dispatch's interlocked increment.
    /// </summary>
    internal int ReadEdges => Volatile.Read(ref _readEdges);

    private int _readEdges;

    /// <summary>The racy readiness of a direction, for a select's peek: true if an edge arrived that nobody consumed.</summary>
    internal bool LooksReadable => Volatile.Read(ref _read) == Ready;

    /// <summary>The two directions' states in words, for test failure messages.</summary>
    internal string Describe() => $"read {Name(Volatile.Read(ref _read))}, write {Name(Volatile.Read(ref _write))}, {ReadEdges} read edges";

    private static string Name(int state) => state switch { Idle => "idle", Ready => "ready", _ => "armed" };

    private static bool Arm(ref int state)
    {
        while (true)
        {
            int s = Volatile.Read(ref state);
            if (s == Armed) return true;
            if (s == Ready)
            {
                if (Interlocked.CompareExchange(ref state, Idle, Ready) == Ready) return false;
            }
            else if (Interlocked.CompareExchange(ref state, Armed, Idle) == Idle)
            {
                Interlocked.Increment(ref Netpoll.s_armed); // a full fence before OnArmed's reads (see the essay's Liveness)
                Netpoll.OnArmed();
                return true;
            }
        }
    }

    /// <summary>An edge for one direction: true if it was armed (the caller then calls the handler).</summary>
    private static bool Signal(ref int state)
    {
        while (true)
        {
            int s = Volatile.Read(ref state);
            if (s == Ready) return false;
            if (s == Armed)
            {
                if (Interlocked.CompareExchange(ref state, Idle, Armed) == Armed)
                {
                    Interlocked.Decrement(ref Netpoll.s_armed);
                    return true;
                }
            }
            else if (Interlocked.CompareExchange(ref state, Ready, Idle) == Idle)
            {
                return false;
            }
        }
    }

    /// <summary>Takes an arm back without an event (a cancelled wait): true if it was still armed.</summary>
    private static bool Disarm(ref int state)
    {
        if (Interlocked.CompareExchange(ref state, Idle, Armed) != Armed) return false;
        Interlocked.Decrement(ref Netpoll.s_armed);
        return true;
    }

    /// <summary>Who ran the handlers of this descriptor's last fired event, and on which P (null: none); for tests.</summary>
    internal PollSource LastSource;
    internal Processor? LastP;

    /// <summary>Called by a poll (and by Unregister, for both directions) with the event's direction(s).</summary>
    internal void Dispatch(bool read, bool write, PollSource source)
    {
        // Counted before the state changes, so that an owner that finds the count unchanged since its last drain
        // knows no read edge was handed to anyone since (the essay's "Drained"; an interlocked increment, because two
        // polls may dispatch edges of one descriptor at once and a lost count would lose that knowledge).
        if (read) Interlocked.Increment(ref _readEdges);
        bool r = read && Signal(ref _read), w = write && Signal(ref _write);
        if (!r && !w) return;
        LastSource = source;
        LastP = Machine.Current?.P;
        if (r) Fire(write: false);
        if (w) Fire(write: true);
    }

    private void Fire(bool write)
    {
        if (_handler is { } h)
        {
            if (write) h.OnWritable();
            else h.OnReadable();
        }
        else
        {
            (write ? _writeWaiter : _readWaiter)?.Complete(cancelled: false);
        }
    }

    /// <summary>
    /// Waits until the direction is ready (for descriptors registered without a handler). One waiter per direction
    /// at a time, as Go's pollDesc allows. Completes at once if an edge arrived since the last wait.
    /// </summary>
    /// <exception cref="InvalidOperationException">A handler owns this descriptor, or another wait on the direction is pending.</exception>
    internal ValueTask WaitAsync(bool write, CancellationToken cancellationToken)
    {
        if (_handler is not null) throw new InvalidOperationException("A descriptor registered with a handler is waited on through its handler, not WaitAsync.");
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        ref var slot = ref write ? ref _writeWaiter : ref _readWaiter;
        var w = slot ??= new PollWaiter(this, write);
        if (!w.TryBegin()) throw new InvalidOperationException($"Another goroutine already waits for this descriptor to become {(write ? "writable" : "readable")}; one waiter per direction.");
        // Reset before the arm, never after: once armed, an edge may complete the waiter on a poller M at once, and a
        // reset after that would erase the completion (the wait would hang with the edge consumed).
        short version = w.Reset();
        if (!IsRegistered || !(write ? ArmWrite() : ArmRead()))
        {
            w.Abandon();
            return default;
        }
        AfterArmForTests?.Invoke(this, w);
        return w.Start(version, cancellationToken);
    }

    /// <summary>Test-only: runs between a WaitAsync's arm and its Start, where an edge may already complete the waiter.</summary>
    internal static Action<PollDesc, PollWaiter>? AfterArmForTests;

    /// <summary>A cancelled WaitAsync: true if it took the arm back (the event did not fire it).</summary>
    internal bool TryDisarm(bool write) => write ? Disarm(ref _write) : Disarm(ref _read);

    /// <summary>Marks the descriptor unregistered and fires both directions if armed, so their owners look again and find it closed.</summary>
    internal bool MarkUnregistered()
    {
        if (Interlocked.Exchange(ref _registered, 0) == 0) return false;
        Dispatch(read: true, write: true, PollSource.Unregister);
        return true;
    }
}

/// <summary>A goroutine's (or any async code's) wait for one direction of a handler-less PollDesc. Reused: one wait at a time.</summary>
internal sealed class PollWaiter(PollDesc desc, bool write) : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _busy;  // 1 from TryBegin to GetResult (or Abandon)
    private int _done;  // 1 once completed for this wait (event or cancellation): exactly one completion
    private CancellationTokenRegistration _registration;

    internal bool TryBegin() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0;

    /// <summary>Whether this wait has been completed (by an edge or a cancellation); for tests.</summary>
    internal bool IsCompletedForTests => Volatile.Read(ref _done) == 1;

    internal void Abandon() => Volatile.Write(ref _busy, 0);

    /// <summary>Readies the waiter for a new wait, before its direction is armed; returns the wait's version.</summary>
    internal short Reset()
    {
        _core.Reset();
        Volatile.Write(ref _done, 0);
        return _core.Version;
    }

    /// <summary>After the arm: registers the token (a completion may already have happened; _done keeps it single).</summary>
    internal ValueTask Start(short version, CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(static (s, token) =>
            {
                var w = (PollWaiter)s!;
                if (w._desc.TryDisarm(w._write)) w.Complete(cancelled: true, token);
            }, this);
        }
        return new ValueTask(this, version);
    }

    private readonly PollDesc _desc = desc;
    private readonly bool _write = write;

    internal void Complete(bool cancelled, CancellationToken token = default)
    {
        if (Interlocked.Exchange(ref _done, 1) != 0) return;
        if (cancelled) _core.SetException(new OperationCanceledException(token));
        else _core.SetResult(true);
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (SynchronizationContext.Current is Goroutine g) g.NoteParking(_write ? WaitReason.IpcWrite : WaitReason.IpcRead);
        _core.OnCompleted(continuation, state, token, flags);
    }

    public void GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            _registration.Dispose();
            _registration = default;
            Volatile.Write(ref _busy, 0);
        }
    }
}


/// <summary>
/// An M's buffer for the events of its blocking poll, kept from the wait until it holds a P to run them on. Pinned
/// (the pinned object heap), allocated once per M that ever polls, so a poll allocates nothing.
/// </summary>
internal sealed unsafe class PollEvents
{
    private readonly byte[] _bytes = GC.AllocateArray<byte>(Netpoll.EventBufferBytes, pinned: true);

    internal byte* Pointer => (byte*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_bytes));
}

/// <summary>Who called epoll_wait: the essay's "Who polls".</summary>
internal enum PollSource : byte
{
    None,

    /// <summary>The poller M: an idle M blocked in epoll_wait (1).</summary>
    PollerM,

    /// <summary>An M looking for work, before it steals (2).</summary>
    Searching,

    /// <summary>Sysmon, when nobody has polled for a tick (3).</summary>
    Sysmon,

    /// <summary>Not a poll: Unregister fires the armed directions.</summary>
    Unregister,
}

/// <summary>The netpoller: one epoll set and an eventfd to interrupt it. The scheduler's threads call it (see the essay).</summary>
internal static class Netpoll
{
    /// <summary>The name the first design's poller thread had; no thread carries it now (DeadlockDetector still lists it).</summary>
    internal const string ThreadName = "weft-netpoll";
    private const ulong InterruptToken = ulong.MaxValue;

    /// <summary>Events one epoll_wait returns at most; the callers' buffers hold this many (EventBufferBytes).</summary>
    internal const int MaxEvents = 128;

    /// <summary>Bytes of the event buffer a caller of Wait provides (16 per event covers both layouts).</summary>
    internal const int EventBufferBytes = MaxEvents * 16;

    /// <summary>Directions in state Armed, over all descriptors (PollDesc's CAS transitions keep it).</summary>
    internal static int s_armed;

    private static readonly Lock s_gate = new(); // guards the table, the free list and initialisation
    private static PollDesc?[] s_table = new PollDesc?[16];
    private static uint[] s_generations = new uint[16];
    private static readonly Stack<int> s_free = new();
    private static int s_next;
    private static int s_epfd = -1; // written once under s_gate, then read racily
    private static int s_eventfd = -1;
    private static int s_wakeSig;   // 1 from an interrupt's write until a blocking poll drains it (Go's netpollWakeSig)
    private static long s_polls;    // epoll_wait returns (tests)
    private static long s_lastPoll = 1; // Clock ticks of the last poll's return; 0 while the poller M blocks in epoll_wait

    /// <summary>True once the epoll set exists (the first Register): only then do idle Ms poll.</summary>
    internal static bool IsInitialized => Volatile.Read(ref s_epfd) >= 0;

    /// <summary>True while some goroutine or channel waits for a descriptor's readiness: not a deadlock (see the essay).</summary>
    internal static bool HasWaiters => Volatile.Read(ref s_armed) > 0;

    /// <summary>True while an M blocks in epoll_wait (Go's sched.lastpoll == 0).</summary>
    internal static bool SomeoneBlocks => Volatile.Read(ref s_lastPoll) == 0;

    /// <summary>Tests only: Ms looking for work skip their non-blocking poll, so that a test can pin sysmon's.</summary>
    internal static volatile bool SearchingPollsOff;

    /// <summary>How many times epoll_wait returned; for tests.</summary>
    internal static long Polls => Volatile.Read(ref s_polls);

    /// <summary>
    /// Adds <paramref name="fd"/> (which must be non-blocking) to the epoll set for both directions, edge triggered.
    /// <paramref name="handler"/> is called on readiness after an arm; null to wait with <see cref="PollDesc.WaitAsync"/>.
    /// </summary>
    /// <exception cref="IOException">epoll_ctl failed (the message names the call and errno's text).</exception>
    internal static PollDesc Register(int fd, IPollHandler? handler) => Register(fd, handler, PollInterest.Both);

    /// <summary>
    /// Adds <paramref name="fd"/> with only the directions in <paramref name="interest"/> (edge triggered). For a
    /// descriptor whose wakeups do not say which direction changed, such as a POSIX message queue, whose every send and
    /// receive wakes all its watchers: an entry with no interest is never queued nor wakes an epoll_wait, so an owner
    /// that needs a direction only rarely registers without it and sets it with <see cref="Watch"/> when it arms.
    /// </summary>
    /// <exception cref="IOException">epoll_ctl failed.</exception>
    internal static PollDesc Register(int fd, IPollHandler? handler, PollInterest interest)
    {
        PollDesc d;
        lock (s_gate)
        {
            EnsureInitializedLocked();
            int slot = s_free.Count > 0 ? s_free.Pop() : s_next++;
            if (slot == s_table.Length)
            {
                Array.Resize(ref s_generations, slot * 2);
                var bigger = new PollDesc?[slot * 2];
                Array.Copy(s_table, bigger, slot);
                Volatile.Write(ref s_table, bigger);
            }
            d = new PollDesc(fd, handler, slot, ++s_generations[slot]);
            Volatile.Write(ref s_table[slot], d);
        }
        if (Ctl(EpollInterop.EPOLL_CTL_ADD, d, interest) != 0)
        {
            var error = EpollInterop.Fail($"epoll_ctl(ADD, fd {fd})");
            Release(d);
            throw error;
        }
        return d;
    }

    /// <summary>epoll_ctl(<paramref name="op"/>) for <paramref name="d"/>'s descriptor with the events of <paramref name="interest"/> (edge triggered) and its token; 0 or -1 (errno set).</summary>
    private static unsafe int Ctl(int op, PollDesc d, PollInterest interest)
    {
        uint events = EpollInterop.EPOLLET
            | ((interest & PollInterest.Read) != 0 ? EpollInterop.EPOLLIN | EpollInterop.EPOLLRDHUP : 0)
            | ((interest & PollInterest.Write) != 0 ? EpollInterop.EPOLLOUT : 0);
        byte* ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, events);
        Unsafe.WriteUnaligned(ev + EpollInterop.DataOffset, d.Token);
        return EpollInterop.EpollCtl(s_epfd, op, d.Fd, ev);
    }

    /// <summary>
    /// Changes the directions a registered descriptor reports (EPOLL_CTL_MOD). Call it before arming a direction that
    /// was left out: the kernel looks at the descriptor during the call and queues an edge if the direction is ready
    /// already, so readiness that came before the call is not lost. Ignored once unregistered.
    /// </summary>
    /// <exception cref="IOException">epoll_ctl failed while the descriptor is registered.</exception>
    internal static void Watch(PollDesc d, PollInterest interest)
    {
        if (Ctl(EpollInterop.EPOLL_CTL_MOD, d, interest) != 0 && d.IsRegistered)
        {
            throw EpollInterop.Fail($"epoll_ctl(MOD, fd {d.Fd})");
        }
    }

    /// <summary>
    /// Removes the descriptor from the epoll set (call before closing it) and fires its armed directions, so their
    /// owners look again. Idempotent.
    /// </summary>
    internal static unsafe void Unregister(PollDesc d)
    {
        if (!d.IsRegistered) return;
        byte* ev = stackalloc byte[16]; // ignored by the kernel for DEL, but must not be null before Linux 2.6.9
        _ = EpollInterop.EpollCtl(s_epfd, EpollInterop.EPOLL_CTL_DEL, d.Fd, ev);
        Release(d);
        d.MarkUnregistered();
    }

    private static void Release(PollDesc d)
    {
        lock (s_gate)
        {
            if (s_table[d.Slot] != d) return;
            Volatile.Write(ref s_table[d.Slot], null);
            s_free.Push(d.Slot);
        }
    }

    /// <summary>
    /// Wakes the poller M out of epoll_wait (Go's netpollBreak): a timer earlier than its timeout was added. A burst of
    /// calls writes the eventfd once; an interrupt with no poller blocked makes the next blocking poll return at once.
    /// </summary>
    internal static unsafe void Interrupt()
    {
        if (Volatile.Read(ref s_eventfd) < 0) return;
        if (Interlocked.CompareExchange(ref s_wakeSig, 1, 0) != 0) return; // one is pending already
        ulong one = 1;
        _ = EpollInterop.Write(s_eventfd, (byte*)&one, sizeof(ulong)); // EAGAIN only when the counter is full: already pending
    }

    /// <summary>
    /// A direction went Idle -> Armed (after the interlocked increment of s_armed). If the arming thread is not an M
    /// that holds a P and nobody blocks in epoll_wait, make sure some M will poll (the essay's "Who polls", 4).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void OnArmed()
    {
        if (Volatile.Read(ref s_lastPoll) == 0) return; // the poller M blocks: it will see the edge
        if (Machine.Current is { P: not null }) return;  // this M looks at the netpoller before it parks, and sysmon ticks meanwhile
        WakeAnM();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WakeAnM()
    {
        Scheduler.EnsureStarted();
        Scheduler.Wakep();
    }

    private static unsafe void EnsureInitializedLocked()
    {
        if (s_epfd >= 0) return;
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft's netpoller uses epoll, which only Linux has.");
        int ep = EpollInterop.EpollCreate1(EpollInterop.EPOLL_CLOEXEC);
        if (ep < 0) throw EpollInterop.Fail("epoll_create1");
        int efd = EpollInterop.EventFd(0, EpollInterop.EFD_CLOEXEC | EpollInterop.EFD_NONBLOCK);
        if (efd < 0) throw EpollInterop.Fail("eventfd");
        byte* ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, EpollInterop.EPOLLIN); // level triggered: see the essay's "The interrupt"
        Unsafe.WriteUnaligned(ev + EpollInterop.DataOffset, InterruptToken);
        if (EpollInterop.EpollCtl(ep, EpollInterop.EPOLL_CTL_ADD, efd, ev) != 0) throw EpollInterop.Fail("epoll_ctl(ADD, eventfd)");
        Volatile.Write(ref s_lastPoll, Clock.Now);
        s_spinMax = s_spinWindow = Clock.FromTimeSpan(RuntimeConfig.Current.NetpollSpin);
        s_eventfd = efd;
        Volatile.Write(ref s_epfd, ep);
        Scheduler.EnsureStarted(); // its Ms and sysmon are the pollers
    }

    /// <summary>
    /// The poller M's blocking poll, until an event, <paramref name="deadline"/> (Clock ticks; Never: no timeout) or an
    /// interrupt. Fills <paramref name="buffer"/> and returns how many entries it holds; run them with
    /// <see cref="Dispatch"/> once the caller holds the P the readied goroutines should go to. The caller is
    /// Scheduler.PollerM (guarded by the scheduler lock), so at most one thread is ever in here.
    /// </summary>
    internal static unsafe int WaitBlocking(PollEvents buffer, long deadline)
    {
        byte* events = buffer.Pointer;
        Volatile.Write(ref s_lastPoll, 0);
        long idleSince = s_spinMax > 0 ? Clock.Now : 0;
        int n = 0;
        if (s_spinSkip > 0) s_spinSkip--;
        else if (s_spinWindow > 0) n = Spin(events, deadline, idleSince);
        if (n == 0)
        {
            while (true)
            {
                int ms = deadline == Clock.Never ? -1 : Clock.MillisecondsUntil(deadline, Clock.Now);
                n = EpollInterop.EpollWait(s_epfd, events, MaxEvents, ms);
                if (n >= 0 || System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != EpollInterop.EINTR) break;
            }
            if (n > 0 && s_spinMax > 0) AdaptSpin(Clock.Now - idleSince);
        }
        Interlocked.Exchange(ref s_lastPoll, Clock.Now); // a full fence: ends "someone blocks" before OnArmed's next look
        Interlocked.Increment(ref s_polls);
        if (n < 0) throw EpollInterop.Fail("epoll_wait"); // EBADF/EINVAL: the runtime's own bug, never the user's
        for (int i = 0; i < n; i++)
        {
            if (Unsafe.ReadUnaligned<ulong>(events + (i * EpollInterop.EventSize) + EpollInterop.DataOffset) != InterruptToken) continue;
            ulong drained;
            _ = EpollInterop.Read(s_eventfd, (byte*)&drained, sizeof(ulong));
            Volatile.Write(ref s_wakeSig, 0);
        }
        return n;
    }

    /// <summary>
    /// The spin (see the essay): polls without blocking, yielding the CPU between polls, for up to the current window
    /// or until <paramref name="deadline"/>, while every P stays idle and the machine has a CPU to spare. Returns how
    /// many entries a poll filled (an event or the interrupt), or 0: block now. A yield that kept this thread off its
    /// CPU for a millisecond gave a time slice away: the spin stops and backs off (see "Contended" in the essay). Only
    /// the poller M runs it.
    /// </summary>
    private static unsafe int Spin(byte* events, long deadline, long start)
    {
        long window = s_spinWindow, end = start + window;
        if (deadline < end) end = deadline;
        if (!Scheduler.EveryPIdle || MachineBusy(start)) return 0;
        while (true)
        {
            int n = EpollInterop.EpollWait(s_epfd, events, MaxEvents, 0);
            if (n > 0) return n;
            long before = Clock.Now;
            if (before >= end || !Scheduler.EveryPIdle) return 0;
            Thread.Yield(); // a runnable thread of this CPU (another process's, or a Weft M about to take a P) goes first
            long after = Clock.Now;
            if (after - before > s_sliceLost)
            {
                // The backoff is forgotten once no spin has been contended for a while (see the essay).
                if (after - s_spinContendedAt > s_spinForget) s_spinBackoff = 0;
                s_spinContendedAt = after;
                s_spinBackoff = Math.Clamp(s_spinBackoff * 2, MinSpinBackoff, MaxSpinBackoff);
                s_spinSkip = s_spinBackoff;
                return 0;
            }
        }
    }

    /// <summary>
    /// Whether the machine had more runnable threads than this process has CPUs at the last sample (taken at most every
    /// <see cref="s_loadEvery"/>, here): the kernel's instantaneous count in /proc/loadavg, which includes the
    /// sampling thread. Not busy when the file cannot be read (the yield's own check still guards the spin).
    /// </summary>
    private static unsafe bool MachineBusy(long now)
    {
        if (now - s_loadSampledAt < s_loadEvery) return s_machineBusy;
        s_loadSampledAt = now;
        if (s_loadavg == -1) s_loadavg = EpollInterop.Open("/proc/loadavg", EpollInterop.O_RDONLY_CLOEXEC) is int fd and >= 0 ? fd : -2;
        if (s_loadavg < 0) return s_machineBusy = false;
        byte* text = stackalloc byte[128];
        int n = (int)EpollInterop.PRead(s_loadavg, text, 128, 0);
        return s_machineBusy = n > 0 && RunnableOf(new ReadOnlySpan<byte>(text, n)) > Environment.ProcessorCount;
    }

    /// <summary>The runnable count in /proc/loadavg's text ("0.48 1.93 1.58 3/345 12345"): the fourth field's numerator; 0 if unreadable.</summary>
    internal static int RunnableOf(ReadOnlySpan<byte> loadavg)
    {
        int field = 0, i = 0;
        while (i < loadavg.Length && field < 3)
        {
            if (loadavg[i++] == (byte)' ') field++;
        }
        int running = 0;
        for (; i < loadavg.Length && loadavg[i] is >= (byte)'0' and <= (byte)'9'; i++) running = Math.Min(running * 10 + (loadavg[i] - '0'), 1 << 20);
        return i < loadavg.Length && loadavg[i] == (byte)'/' ? running : 0;
    }

    private static int s_loadavg = -1;   // /proc/loadavg, opened on first use; -2: unreadable. Poller M only
    private static long s_loadSampledAt; // Poller M only
    private static bool s_machineBusy;   // Poller M only
    private static readonly long s_loadEvery = Clock.FromTimeSpan(TimeSpan.FromMilliseconds(20));

    /// <summary>Idle periods without a spin after the first contended one, and the most after repeated ones (see the essay).</summary>
    private const int MinSpinBackoff = 8, MaxSpinBackoff = 1024;

    /// <summary>
    /// How far past the ceiling an event that ended a blocking wait still counts as "near" (see the essay): the blocking
    /// wait's own wake-up, which the spin exists to avoid, is part of the idle time measured after it.
    /// </summary>
    private const int SpinReach = 4;

    /// <summary>
    /// After a spin that missed and a blocking wait that an event ended, <paramref name="idle"/> after the spin began:
    /// an event within reach (<see cref="SpinReach"/> times the ceiling) would likely have been caught by a spin, so the
    /// window grows (doubling, from an eighth of the ceiling when it was closed, up to the ceiling); a later one means
    /// the spin only cost CPU, so the window halves, and closes below an eighth. haltpoll's rule for a guest's idle
    /// loop, with the same reason.
    /// </summary>
    private static void AdaptSpin(long idle) => s_spinWindow = NextSpinWindow(s_spinWindow, s_spinMax, idle);

    /// <summary>The rule of <see cref="AdaptSpin"/>, as a function of the window, its ceiling and the idle time (tests).</summary>
    internal static long NextSpinWindow(long window, long ceiling, long idle)
    {
        long floor = ceiling / 8;
        if (idle <= ceiling * SpinReach) return Math.Min(ceiling, Math.Max(window * 2, floor));
        return window / 2 < floor ? 0 : window / 2;
    }

    private static long s_spinMax;    // the window's ceiling in Clock ticks (WEFT_NETPOLL_SPIN_US); 0: no spin. Set at initialisation
    private static long s_spinWindow; // the current window; only the poller M (one at a time, under the scheduler lock's hand-over) writes it
    private static int s_spinBackoff; // idle periods to skip after the next contended spin: 0, or 8 doubling to 1024. Poller M only
    private static int s_spinSkip;    // idle periods still to skip. Poller M only
    private static long s_spinContendedAt; // Clock ticks of the last contended spin. Poller M only
    private static readonly long s_spinForget = Clock.FromTimeSpan(TimeSpan.FromSeconds(1)); // a backoff older than this starts again at 8
    private static readonly long s_sliceLost = Clock.FromTimeSpan(TimeSpan.FromMilliseconds(1)); // a yield this long gave a time slice away



    /// <summary>
    /// One epoll_wait that does not block, and its events run at once: by an M looking for work (on its own P) or by
    /// sysmon (no P). Returns how many descriptors it fired. The interrupt is left for the blocking poller.
    /// </summary>
    internal static unsafe int PollNow(PollSource source)
    {
        byte* events = stackalloc byte[EventBufferBytes];
        int n = EpollInterop.EpollWait(s_epfd, events, MaxEvents, 0);
        long last = Volatile.Read(ref s_lastPoll);
        if (last != 0) Interlocked.CompareExchange(ref s_lastPoll, Clock.Now, last); // never over the poller M's 0

        Interlocked.Increment(ref s_polls);
        if (n <= 0) return 0; // EINTR: the next look polls again
        return DispatchEvents(events, n, source);
    }

    /// <summary>
    /// Sysmon's tick (the essay's "Who polls", 3): polls if a direction is armed, no M blocks in epoll_wait and nobody
    /// has polled for <paramref name="tick"/>.
    /// </summary>
    internal static void SysmonCheck(long now, long tick)
    {
        if (!HasWaiters || !IsInitialized) return;
        long last = Volatile.Read(ref s_lastPoll);
        if (last == 0 || now - last < tick) return;
        PollNow(PollSource.Sysmon);
    }

    /// <summary>Runs the handlers of the first <paramref name="n"/> events in <paramref name="buffer"/>; returns how many descriptors it looked at.</summary>
    internal static unsafe int Dispatch(PollEvents buffer, int n, PollSource source) => DispatchEvents(buffer.Pointer, n, source);

    private static unsafe int DispatchEvents(byte* events, int n, PollSource source)
    {
        int size = EpollInterop.EventSize, offset = EpollInterop.DataOffset, fired = 0;
        for (int i = 0; i < n; i++)
        {
            byte* e = events + (i * size);
            uint flags = Unsafe.ReadUnaligned<uint>(e);
            ulong token = Unsafe.ReadUnaligned<ulong>(e + offset);
            if (token == InterruptToken) continue;
            var table = Volatile.Read(ref s_table);
            int slot = (int)(uint)token;
            if ((uint)slot >= (uint)table.Length || Volatile.Read(ref table[slot]) is not { } d || d.Generation != (uint)(token >> 32)) continue;
            const uint Hang = EpollInterop.EPOLLERR | EpollInterop.EPOLLHUP;
            d.Dispatch(
                read: (flags & (EpollInterop.EPOLLIN | EpollInterop.EPOLLRDHUP | Hang)) != 0,
                write: (flags & (EpollInterop.EPOLLOUT | Hang)) != 0,
                source);
            fired++;
        }
        return fired;
    }
}
