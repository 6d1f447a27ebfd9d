// ShmDoorbell — how a goroutine or a select parked on a shared-memory channel is woken by another process, and
// ShmDeathWatch — how it is woken when the participant it waits behind dies.
//
// A goroutine must not block a thread in futex_wait, so its wait goes through the netpoller: each participant that
// parks has a doorbell, a descriptor in the netpoller's epoll set that any process of this user can make readable.
// An eventfd cannot be rung from another process (it is process-local unless passed over a socket), so the doorbell
// is a Unix datagram socket bound in the abstract namespace to "weft-shm-<nonce>", the nonce being random and kept
// in the participant's record. Ringing is one sendto(MSG_DONTWAIT) of one byte from a process-wide unbound socket:
// no descriptor to open per ring, no file left behind by kill -9 (abstract names vanish with their socket), and a
// ring to a dead participant fails with ECONNREFUSED, which is ignored.
// Rejected: a FIFO per participant (a file that kill -9 leaves in the filesystem, and an open per ring or a cache of
// descriptors per peer); a futex watched by a helper thread (a thread per channel, what goroutines exist to avoid).
// The cost written down: abstract sockets belong to a network namespace, so two processes that share /dev/shm but
// not the network namespace cannot ring each other; their threads' futex waits still work.
//
// The protocol (ShmRing.Park, ShmRing.Notify):
//   park:   set my parked bit for data (or space) in my record and count it in the header (atomic: full fences);
//           make sure every other participant's death is watched (below); look at the ring again; arm the doorbell's
//           read direction in the netpoller. Anything ready, or an arm that says "an edge came since", undoes the
//           park and the caller tries again at once.
//   commit: full fence; if the header's count of parked doorbells is not zero, ring every record with the bit set
//           whose rung bit is clear, setting the rung bit first (a CAS): one ring per park. An uncontended send reads
//           one word and makes no system call, and a burst of commits while the parker is being woken sends one
//           datagram, not one per commit, each of which the parker would only drain.
//   wake:   the doorbell's handler drains the socket, clears its own parked and rung bits, and lets both channels pump
//           (they park again if they must).
//   a failed arm: an arm that finds a ring came since the last one (the netpoller's Ready state) drains the socket
//           itself, and no handler runs for what it drained. One doorbell serves a participant's two directions, so
//           the drained datagram may have been the one ring of the *other* direction's park: that park set its bit,
//           armed while the descriptor was already Armed (so its arm succeeded and it will not look again), and a
//           ringer then took its ring (rung bit) and sent the datagram that this arm drained. Nothing would ever wake
//           it: later commits see its rung bit and stay silent. So a failed arm that finds the other direction's
//           rung bit set runs the handler's work for it (UnparkAll, both pumps) on the thread pool; the arm's own
//           direction simply tries again. A stress round on two-slot rings, where one attachment has a reader and a
//           writer parked at once, lost this wake-up before the rule (ShmChannelTests, "Rounds_on_rings...").
//   Either the parker's second look sees the commit, or the committer sees the bit (the Dekker pair of the fences).
//   Ringers never clear a parked bit, and a rung bit only says that some ringer took the ring. A ringer killed
//   between its CAS and its sendto leaves a park that later commits do not ring: the parker's death watch of that
//   ringer (below) wakes it, and a wake for a death, a close or a cancellation (ShmRing.WakeAll) rings every parked
//   record whatever its rung bit says. A park watches everyone attached when it parked; a participant that attaches
//   later wakes every parked one once (ShmRing.Attach: generation increment, a full fence, then the scan; the park
//   sets its bit, fences, then reads the generation), so each parks again and watches the newcomer too. The
//   datagrams of a ring the parker no longer needed are drained with the next. A full socket queue (EAGAIN) means a
//   ring is pending anyway. A ring refused with ECONNREFUSED (the socket is gone: that process died) clears the dead
//   parker's bits, so it costs later commits nothing.
//
// Death watch (ShmRing.EnsureWatches): before a participant parks (goroutine or thread), it makes sure it watches
// every other attached participant in another process: their pidfds, registered with the netpoller, become readable
// when the process has exited, after the kernel released its locks. This covers every way a death could strand a
// parked participant: a writer that claimed the slot it waits for, a reader that took the slot a writer needs, and
// a ringer killed between its commit and its ring. The watch only wakes everyone (ShmRing.WakeAll): each woken
// participant asks the kernel about the lock itself, so the pid (which may be reused, or belong to another pid
// namespace) never decides anything. The pidfd is checked against the record after it is opened: the record must
// still carry the same nonce and the lock must still be held, else the participant is already gone and the caller
// recovers at once instead of parking. The scan runs only when the header's attach generation moved.

using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Weft.Ipc.Interop;
using Weft.Runtime;

namespace Weft.Ipc.SharedMemory;

/// <summary>One participant's doorbell: an abstract-namespace datagram socket in the netpoller (see the essay).</summary>
internal sealed unsafe class ShmDoorbell : IPollHandler, IDisposable
{
    private const int AddressLength = 2 + 1 + 9 + 16; // sun_family, the abstract NUL, "weft-shm-", 16 hex digits
    private static readonly Lazy<int> s_ringer = new(() =>
    {
        int fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        return fd >= 0 ? fd : throw Errno.Fail("socket(AF_UNIX, SOCK_DGRAM)", null);
    });

    private readonly FileDescriptor _fd;
    private readonly PollDesc _poll;
    private int _disposed;

    /// <summary>Called when the doorbell rings (outside every lock, on the netpoller).</summary>
    internal Action? OnRing;

    internal ShmDoorbell(ulong nonce)
    {
        int fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        if (fd < 0) throw Errno.Fail("socket(AF_UNIX, SOCK_DGRAM)", null);
        _fd = new FileDescriptor(fd);
        byte* address = stackalloc byte[AddressLength];
        Address(nonce, address);
        if (Libc.Bind(fd, address, AddressLength) != 0)
        {
            var e = Errno.Fail("bind", "@weft-shm-" + nonce.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
            _fd.Dispose();
            throw e;
        }
        _poll = Netpoll.Register(fd, this);
    }

    private static void Address(ulong nonce, byte* address)
    {
        address[0] = Libc.AF_UNIX;
        address[1] = 0;
        address[2] = 0; // the abstract namespace
        ReadOnlySpan<byte> prefix = "weft-shm-"u8;
        for (int i = 0; i < prefix.Length; i++) address[3 + i] = prefix[i];
        for (int i = 0; i < 16; i++)
        {
            int nibble = (int)(nonce >> ((15 - i) * 4)) & 0xF;
            address[12 + i] = (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
        }
    }

    private static long s_rings;

    /// <summary>How many rings this process has sent (tests: an uncontended send sends none).</summary>
    internal static long Rings => Volatile.Read(ref s_rings);

    /// <summary>
    /// Rings the doorbell of the participant whose record holds <paramref name="nonce"/>. Never blocks, never throws.
    /// False if that doorbell is gone (ECONNREFUSED: its socket closed, so its process died or detached).
    /// </summary>
    internal static bool Ring(ulong nonce)
    {
        byte* address = stackalloc byte[AddressLength];
        Address(nonce, address);
        byte one = 1;
        Interlocked.Increment(ref s_rings);
        if (Libc.SendTo(s_ringer.Value, &one, 1, Libc.MSG_DONTWAIT, address, AddressLength) >= 0) return true;
        // EAGAIN: rings are already queued there, which is as good as this one.
        return Marshal.GetLastPInvokeError() is not (Libc.ECONNREFUSED or Libc.ENOENT);
    }

    /// <summary>
    /// Arms the netpoller for a ring: false if one came since the last arm (drained here; try again now, and see "a
    /// failed arm" in the essay for the other direction).
    /// </summary>
    internal bool ArmRead()
    {
        if (_poll.ArmRead()) return true;
        Drain();
        return false;
    }

    /// <summary>
    /// Runs <see cref="OnRing"/> on the thread pool, as the handler would have for a ring that a failed arm drained
    /// (the caller may hold the send gate, or be inside a pump, so it does not run it inline).
    /// </summary>
    internal void RunHandlerLater() => ThreadPool.UnsafeQueueUserWorkItem(static d => d.OnRing?.Invoke(), this, preferLocal: false);

    /// <summary>Datagrams taken per recvmmsg: more than a drain finds queued in the common case (one ring per park).</summary>
    private const int DrainBatch = 8;

    /// <summary>
    /// Empties the socket's queue. recvmmsg takes up to <see cref="DrainBatch"/> rings in one call and a short count
    /// means the queue was empty when the call returned, so the usual drain (one ring queued) is one system call; a
    /// loop of recv until EAGAIN would make it two. Rings that arrive after the call make a new edge, which the next
    /// arm or poll sees, so stopping at a short count loses nothing.
    /// </summary>
    private void Drain()
    {
        byte scratch;
        var iov = new Libc.IoVec { Base = &scratch, Length = 1 }; // a ring's byte says nothing: every message shares it
        Libc.MMsgHdr* messages = stackalloc Libc.MMsgHdr[DrainBatch];
        for (int i = 0; i < DrainBatch; i++) messages[i] = new Libc.MMsgHdr { Iov = &iov, IovLength = 1 };
        while (Volatile.Read(ref _disposed) == 0 && Libc.RecvMMsg(_fd.Fd, messages, DrainBatch, Libc.MSG_DONTWAIT, null) == DrainBatch)
        {
        }
    }

    public void OnReadable()
    {
        Drain();
        OnRing?.Invoke();
    }

    public void OnWritable()
    {
    }

    /// <summary>The doorbell's poll state in words, for test failure messages.</summary>
    internal string Describe() => _poll.Describe();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Netpoll.Unregister(_poll);
        _fd.Dispose();
    }
}

/// <summary>The pidfd watches of this process: at most one per (segment, participant, nonce). See the essay.</summary>
internal static class ShmDeathWatch
{
    private static readonly ConcurrentDictionary<(ShmRing Ring, int Id, ulong Nonce), Watcher> s_watches = new();

    /// <summary>
    /// Watches participant <paramref name="id"/> of <paramref name="ring"/>: its death will wake the ring's waiters.
    /// False if it is dead already (the caller recovers and tries again).
    /// </summary>
    internal static bool Watch(ShmRing ring, int id)
    {
        ulong nonce = Volatile.Read(ref ring.RecordNonce(id));
        var key = (ring, id, nonce);
        if (s_watches.ContainsKey(key)) return true;
        int pid = Volatile.Read(ref ring.RecordPid(id));
        int fd = Libc.PidfdOpen(pid);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            // ESRCH: that pid is gone, so the participant is dead (or its record is being reused): ask the lock.
            if (errno == Libc.ESRCH) return !ring.IsDead(id);
            throw Errno.Fail("pidfd_open", ring.Name, errno);
        }
        var watch = new Watcher(ring, key, fd);
        if (Volatile.Read(ref ring.RecordNonce(id)) != nonce || ring.IsDead(id) || !s_watches.TryAdd(key, watch))
        {
            bool dead = ring.IsDead(id);
            watch.Dispose();
            return !dead;
        }
        watch.Start();
        return true;
    }

    /// <summary>Drops the watches a detaching ring made (their handlers must not touch its mapping afterwards).</summary>
    internal static void Forget(ShmRing ring)
    {
        foreach (var (key, watch) in s_watches)
        {
            if (key.Ring == ring && s_watches.TryRemove(new KeyValuePair<(ShmRing, int, ulong), Watcher>(key, watch))) watch.Dispose();
        }
    }

    private sealed class Watcher(ShmRing ring, (ShmRing, int, ulong) key, int fd) : IPollHandler, IDisposable
    {
        private readonly FileDescriptor _fd = new(fd);
        private PollDesc? _poll;
        private int _fired;
        private int _disposed;

        internal void Start()
        {
            _poll = Netpoll.Register(_fd.Fd, this);
            if (!_poll.ArmRead()) OnReadable(); // it exited already
        }

        public void OnReadable()
        {
            if (Interlocked.Exchange(ref _fired, 1) != 0) return;
            s_watches.TryRemove(new KeyValuePair<(ShmRing, int, ulong), Watcher>(key, this));
            Dispose();
            ring.WakeAll(); // nothing, if the ring detached meanwhile
        }

        public void OnWritable()
        {
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            if (_poll is { } p) Netpoll.Unregister(p);
            _fd.Dispose();
        }
    }
}
