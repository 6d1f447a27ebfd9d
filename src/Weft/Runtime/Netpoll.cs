// Netpoll — the runtime's network poller: tells Weft when a file descriptor can be read or written without
// blocking, so that IPC endpoints (pipes, sockets) wait like channels, with no thread blocked per descriptor.
//
// Glossary
//   PollDesc   one registered descriptor (Go's pollDesc), with a readiness state per direction.
//   arm        "call me (or wake me) once this direction is ready": the owner tried the I/O, got EAGAIN, and arms.
//   handler    the owner's callback object (IPollHandler), called on readiness after an arm; a channel transport
//              uses it to pull from the kernel and complete its waiters (Channels/Transport/ChanTransport.cs).
//
// Mechanics: one epoll instance, every descriptor added once with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET. Edge
// triggered, so the kernel reports a direction again only after it was drained (EAGAIN) and became ready anew: no
// re-arming system call per wait (EPOLLONESHOT would need an epoll_ctl per wait), and no storm of repeated events for a
// descriptor that stays readable while nobody reads it. An eventfd, also in the set, interrupts epoll_wait
// (Interrupt): the planned Go mode (below) needs it to wake an M that blocks in the poller when a timer is added.
//
// The per-direction state (Go's rg/wg, without the goroutine pointer): Idle, Ready or Armed, changed only by CAS.
//   event   Armed -> Idle and call the handler; Idle -> Ready (nobody waits: remember it); Ready stays.
//   arm     Ready -> Idle and return false ("readiness came since your last try: try the I/O again now");
//           Idle -> Armed and return true ("you will be called"); Armed stays (another waiter armed it).
// So an edge that arrives between the owner's EAGAIN and its arm is never lost: either the event sees Armed and
// calls, or the arm sees Ready and the owner retries. A stale Ready costs one retry that meets EAGAIN again.
//
// Thread mode (today): one background thread, "weft-netpoll", blocks in epoll_wait and runs handlers. A handler
// takes its channel's lock, pulls what the kernel has, and completes waiters; completing a goroutine's waiter
// readies the goroutine through the scheduler as any wake from a thread without a P does (the global queue and an
// idle M). Handlers run Weft's own code only, never user code: user continuations are posted (PollWaiter runs its
// continuation asynchronously; channel waiters resume through their goroutine or captured context).
//
// Go mode (planned, not done): Go's findrunnable polls the netpoller without blocking before it steals, and the
// last M to go idle blocks in epoll_wait itself, with a timeout up to the earliest timer, instead of on its
// parker. Adding an earlier timer or needing an M interrupts it through the eventfd (Interrupt); sysmon polls if no
// M has for a tick. Goroutines readied that way go to that M's P, one wake per hop instead of two (poller thread,
// then an M). The step needs Scheduler/Machine changes (the idle path and the timer heap's wake-up), which other work
// owns right now; PollDesc and the handler interface stay as they are, only who calls Poll changes.
//
// Bookkeeping: goroutines waiting on readiness have their own wait reasons (IpcRead, IpcWrite) in dumps. The deadlock
// detector never reports while any direction is armed (HasWaiters): something outside the process may still make
// the descriptor ready, exactly as Go's checkdead stays silent while the netpoller has waiters.
//
// Descriptors are found from events by a token, not a GCHandle: the slot index in a table and a generation, so an
// event already read for a descriptor unregistered meanwhile (or whose slot was reused) is recognised and dropped.
//
// Rejected:
//   * .NET's socket engine (SocketAsyncEngine): it is private, serves only Socket, and its completions go to the
//     ThreadPool before they reach a goroutine (two hops more than Go's);
//   * level-triggered epoll: every wakeup must be disarmed (EPOLL_CTL_MOD) or it repeats while the data sits unread;
//   * a thread per descriptor blocked in read(2): a thread per endpoint, exactly what goroutines exist to avoid.
//
// Invariants
//   * A descriptor is removed from the epoll set (Unregister) before it is closed: a closed-but-registered number
//     could be reused by the next open and report readiness for the wrong file.
//   * s_armed counts the directions in state Armed; it moves only on a successful CAS into or out of Armed.

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

    /// <summary>The racy readiness of a direction, for a select's peek: true if an edge arrived that nobody consumed.</summary>
    internal bool LooksReadable => Volatile.Read(ref _read) == Ready;

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
                Interlocked.Increment(ref Netpoll.s_armed);
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

    /// <summary>Called by the poller (and by Unregister, for both directions) with the event's direction(s).</summary>
    internal void Dispatch(bool read, bool write)
    {
        if (read && Signal(ref _read)) Fire(write: false);
        if (write && Signal(ref _write)) Fire(write: true);
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
        if (!IsRegistered || !(write ? ArmWrite() : ArmRead()))
        {
            w.Abandon();
            return default;
        }
        return w.Start(cancellationToken);
    }

    /// <summary>A cancelled WaitAsync: true if it took the arm back (the event did not fire it).</summary>
    internal bool TryDisarm(bool write) => write ? Disarm(ref _write) : Disarm(ref _read);

    /// <summary>Marks the descriptor unregistered and fires both directions if armed, so their owners look again and find it closed.</summary>
    internal bool MarkUnregistered()
    {
        if (Interlocked.Exchange(ref _registered, 0) == 0) return false;
        Dispatch(read: true, write: true);
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

    internal void Abandon() => Volatile.Write(ref _busy, 0);

    internal ValueTask Start(CancellationToken cancellationToken)
    {
        _core.Reset();
        Volatile.Write(ref _done, 0);
        short version = _core.Version;
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

/// <summary>The netpoller: one epoll set, an eventfd to interrupt it, and (thread mode) the thread that waits on it.</summary>
internal static class Netpoll
{
    internal const string ThreadName = "weft-netpoll";
    private const ulong InterruptToken = ulong.MaxValue;
    private const int MaxEvents = 128;

    /// <summary>Directions in state Armed, over all descriptors (PollDesc's CAS transitions keep it).</summary>
    internal static int s_armed;

    private static readonly Lock s_gate = new(); // guards the table, the free list and initialisation
    private static PollDesc?[] s_table = new PollDesc?[16];
    private static uint[] s_generations = new uint[16];
    private static readonly Stack<int> s_free = new();
    private static int s_next;
    private static int s_epfd = -1;
    private static int s_eventfd = -1;
    private static Thread? s_thread;
    private static long s_polls; // epoll_wait returns (tests: an interrupt wakes the poller)

    /// <summary>True while some goroutine or channel waits for a descriptor's readiness: not a deadlock (see the essay).</summary>
    internal static bool HasWaiters => Volatile.Read(ref s_armed) > 0;

    /// <summary>How many times epoll_wait returned; for tests.</summary>
    internal static long Polls => Volatile.Read(ref s_polls);

    /// <summary>
    /// Adds <paramref name="fd"/> (which must be non-blocking) to the epoll set for both directions, edge triggered.
    /// <paramref name="handler"/> is called on readiness after an arm; null to wait with <see cref="PollDesc.WaitAsync"/>.
    /// </summary>
    /// <exception cref="IOException">epoll_ctl failed (the message names the call and errno's text).</exception>
    internal static unsafe PollDesc Register(int fd, IPollHandler? handler)
    {
        PollDesc d;
        lock (s_gate)
        {
            EnsureStartedLocked();
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
        byte* ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, EpollInterop.EPOLLIN | EpollInterop.EPOLLOUT | EpollInterop.EPOLLRDHUP | EpollInterop.EPOLLET);
        Unsafe.WriteUnaligned(ev + EpollInterop.DataOffset, d.Token);
        if (EpollInterop.EpollCtl(s_epfd, EpollInterop.EPOLL_CTL_ADD, fd, ev) != 0)
        {
            var error = EpollInterop.Fail($"epoll_ctl(ADD, fd {fd})");
            Release(d);
            throw error;
        }
        return d;
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

    /// <summary>Wakes the poller out of epoll_wait (the Go mode's hook: a new earliest timer, an M wanted).</summary>
    internal static unsafe void Interrupt()
    {
        if (Volatile.Read(ref s_eventfd) < 0) return;
        ulong one = 1;
        _ = EpollInterop.Write(s_eventfd, (byte*)&one, sizeof(ulong)); // EAGAIN only when the counter is full: already pending
    }

    private static unsafe void EnsureStartedLocked()
    {
        if (s_epfd >= 0) return;
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft's netpoller uses epoll, which only Linux has.");
        int ep = EpollInterop.EpollCreate1(EpollInterop.EPOLL_CLOEXEC);
        if (ep < 0) throw EpollInterop.Fail("epoll_create1");
        int efd = EpollInterop.EventFd(0, EpollInterop.EFD_CLOEXEC | EpollInterop.EFD_NONBLOCK);
        if (efd < 0) throw EpollInterop.Fail("eventfd");
        byte* ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, EpollInterop.EPOLLIN | EpollInterop.EPOLLET);
        Unsafe.WriteUnaligned(ev + EpollInterop.DataOffset, InterruptToken);
        if (EpollInterop.EpollCtl(ep, EpollInterop.EPOLL_CTL_ADD, efd, ev) != 0) throw EpollInterop.Fail("epoll_ctl(ADD, eventfd)");
        s_eventfd = efd;
        s_epfd = ep;
        s_thread = new Thread(Loop, 256 * 1024) { IsBackground = true, Name = ThreadName };
        s_thread.UnsafeStart();
    }

    private static unsafe void Loop()
    {
        int size = EpollInterop.EventSize, offset = EpollInterop.DataOffset;
        byte* events = stackalloc byte[MaxEvents * 16];
        while (true)
        {
            int n = EpollInterop.EpollWait(s_epfd, events, MaxEvents, -1);
            Interlocked.Increment(ref s_polls);
            if (n < 0)
            {
                if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == EpollInterop.EINTR) continue;
                throw EpollInterop.Fail("epoll_wait"); // EBADF/EINVAL: the runtime's own bug, never the user's
            }
            for (int i = 0; i < n; i++)
            {
                byte* e = events + (i * size);
                uint flags = Unsafe.ReadUnaligned<uint>(e);
                ulong token = Unsafe.ReadUnaligned<ulong>(e + offset);
                if (token == InterruptToken)
                {
                    ulong drained;
                    _ = EpollInterop.Read(s_eventfd, (byte*)&drained, sizeof(ulong));
                    continue;
                }
                var table = Volatile.Read(ref s_table);
                int slot = (int)(uint)token;
                if ((uint)slot >= (uint)table.Length || Volatile.Read(ref table[slot]) is not { } d || d.Generation != (uint)(token >> 32)) continue;
                const uint Hang = EpollInterop.EPOLLERR | EpollInterop.EPOLLHUP;
                d.Dispatch(
                    read: (flags & (EpollInterop.EPOLLIN | EpollInterop.EPOLLRDHUP | Hang)) != 0,
                    write: (flags & (EpollInterop.EPOLLOUT | Hang)) != 0);
            }
        }
    }
}
