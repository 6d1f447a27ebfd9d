// Chan<T> — Go's channel: a typed conduit with Go's semantics, usable from goroutines, plain async code and threads.
//
// Glossary
//   ring     the buffer: _ring[_head .. _head+_count) modulo _ring.Length. Capacity 0 is an empty ring: the
//            unbuffered (rendezvous) flavour, where every value passes hand to hand.
//   recvq    receivers parked because nothing could be received; sendq: senders parked because nothing could take
//            their value (no parked receiver, ring full). Both hold Sudogs (ChanWaiter or select case nodes).
//   hand-off a send that finds a parked receiver writes the value straight into the receiver's sudog and readies it;
//            a receive that finds a parked sender takes its value (unbuffered) or the ring's head, refilling the
//            ring's tail from the sender (buffered), so FIFO order holds across the ring and the sendq.
//
// Flavours, picked in one place (the constructors)
//   unbuffered: capacity 0;  buffered: capacity N > 0;  timer: a one-slot ring written only by a Timer/Ticker
//   (receive-only; reports Len = Capacity = 0 as Go 1.23 does, and is drained by Stop/Reset so no stale value is
//   received); never-ready: a null Chan in a select case, as Go's nil channel.
//   Rejected: one sealed subclass per flavour behind a virtual "buffer" API. Go's hchan shows that unbuffered and
//   buffered differ only in the ring's length, and a virtual call on every send/receive of the hot ping-pong path
//   bought nothing; the timer flavour differs only in who may send, one readonly field. IPC endpoints: a transport
//   behind the ring (Chan.Transport.cs), one readonly field tested only where the ring could not serve.
//
// Invariants (checked by AssertInvariants at the start of every locked section, in DEBUG builds)
//   * Ignoring select cases, never both parked senders and parked receivers (a hand-off would have matched them).
//   * Parked receivers only when the ring is empty; parked senders only when it is full.
//   * Closed is set once, under the lock; after it no sender parks, and Close empties both queues.
//
// Ownership: every field but the readonly ones is guarded by _lock. _count and _closed are also read racily by
// Len and by select's peek: a stale value costs one locked attempt (peek) or is a snapshot anyway (Len).
// Lock order (written once, STYLE 8): a select takes several channel locks in ascending Id. A timer takes its own
// gate, then its channel's lock. No channel lock is held while anything else is locked or any waiter is resumed.
// Contention: the plain send and receive paths (and the deferred commit) take the lock with EnterYielding; select,
// close, cancellation, a poster's claim, timers and the adapters' readiness paths with Enter (WordLock.cs says why).

using System.Diagnostics;
using System.Runtime.CompilerServices;
using Weft.Channels;
using Weft.Runtime;

namespace Weft;

/// <summary>
/// A Go channel: send and receive values between goroutines (and plain async code, and threads), unbuffered
/// (sender and receiver meet) or buffered (FIFO up to <see cref="Capacity"/>). Close it to tell receivers that no
/// more values will come. Combine operations on several channels with <see cref="Select"/>.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>
/// <para>Every blocking operation has an async form (<see cref="SendAsync"/>, <see cref="ReceiveAsync"/>,
/// <see cref="ReceiveOkAsync"/>), a blocking form for plain threads (<see cref="Send"/>, <see cref="Receive(CancellationToken)"/>),
/// and a non-blocking form (<see cref="TrySend"/>, <see cref="TryReceive(out T)"/>). Waiting allocates nothing in
/// steady state unless a cancellable token is passed.</para>
/// <para>Cancellation is exact: a cancelled send never delivered its value and a cancelled receive never consumed one.</para>
/// </remarks>
/// <example><code>
/// var ch = new Chan&lt;int&gt;();
/// Go.Run(async () => { for (int i = 0; i &lt; 3; i++) await ch.SendAsync(i); ch.Close(); });
/// await foreach (int v in ch) Console.WriteLine(v);
/// </code></example>
public sealed partial class Chan<T>
{
    private WordLock _lock;                // see WordLock; never copied
    private readonly T[] _ring;
    private readonly bool _receiveOnly; // the timer flavour
    private readonly ChanTimer? _timer; // the timer flavour's engine, told when a receiver parks (ChanTimer.cs)
    private readonly long _id;          // lock order for select
    private int _head;                  // guarded by _lock
    private int _count;                 // guarded by _lock; read racily by Len and select's peek
    private bool _closed;               // guarded by _lock; read racily by select's peek
    private bool _adapted;              // guarded by _lock; set once a readiness wait or Completion used it (Chan.Ready.cs)
    private WaitQueue<Sudog<T>> _recvq;        // guarded by _lock
    private WaitQueue<Sudog<T>> _sendq;        // guarded by _lock
    private readonly SynctestBubble? _bubble; // the bubble it was made in: only that bubble may use it

    /// <summary>Creates a channel: unbuffered when <paramref name="capacity"/> is 0, else buffered.</summary>
    /// <param name="capacity">
    /// 0 for an unbuffered channel (every send waits for a receiver), N &gt; 0 for a FIFO buffer of N, at most
    /// <see cref="Array.MaxLength"/>. The buffer is allocated here, whole (as Go's <c>make(chan T, n)</c> does).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is negative or greater than <see cref="Array.MaxLength"/>.</exception>
    /// <exception cref="OutOfMemoryException">The buffer of <paramref name="capacity"/> elements could not be allocated; the message names the capacity and the element type.</exception>
    /// <example><code>var jobs = new Chan&lt;string&gt;(100);</code></example>
    public Chan(int capacity = 0)
    {
        if ((uint)capacity > (uint)Array.MaxLength) ThrowHelper.BadCapacity(capacity);
        _ring = capacity == 0 ? [] : AllocateRing(capacity);
        _id = SelectIds.Next();
        _bubble = SynctestBubble.Current;
    }

    /// <summary>The buffer, with an allocation failure reported as this channel's (the runtime's own names no size).</summary>
    private static T[] AllocateRing(int capacity)
    {
        try
        {
            return new T[capacity];
        }
        catch (OutOfMemoryException e)
        {
            throw ThrowHelper.RingTooLarge(typeof(T), capacity, e);
        }
    }

    // A free waiter node: the spare slot of Runtime/NodePool.cs, taken under _lock, filled without it.
    private ChanWaiter<T>? _spareWaiter;

    /// <summary>The channel's spare waiter slot, for <see cref="NodePool{TNode}"/> (take it under the lock; fill it without).</summary>
    internal ref ChanWaiter<T>? SpareWaiter => ref _spareWaiter;

    /// <summary>A channel made in a bubble belongs to it: using it from outside is an error, not a silent race.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckBubble()
    {
        if (_bubble is not null) SynctestBubble.CheckAccess(_bubble, "channel");
    }

    /// <summary>The timer flavour: a one-slot ring that only <see cref="OfferFromTimer"/> fills.</summary>
    internal Chan(ChanTimer timer)
    {
        _ring = new T[1];
        _receiveOnly = true;
        _timer = timer;
        _id = SelectIds.Next();
    }

    /// <summary>
    /// A receiver just parked on this channel: a timer channel's heap entry must now hold the channel strongly, so the
    /// parked receiver lives until the timer wakes it (ChanTimer.cs, "Collecting dropped timers"). Caller holds the lock.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PinTimerLocked()
    {
        if (_timer is not null) _timer.PinLocked(this);
    }

    /// <summary>A racy look: is a receiver or a read-readiness waiter parked? (ChanTimer.TryUnpin says why racy is enough.)</summary>
    internal bool HasReceiveWaiters => !_recvq.IsEmpty || !_readyReadq.IsEmpty;

    /// <summary>
/// The number of values buffered now (Go's <c>len(ch)</c>): a snapshot, stale as soon as it is read. Always 0 for timer
/// channels; 0 or 1 for an IPC receive endpoint (a value taken from the kernel that no receiver took yet).
/// </summary>
    public int Len => _timer is not null ? 0 : Volatile.Read(ref _count);

    /// <summary>The buffer's size (Go's <c>cap(ch)</c>); 0 for unbuffered and timer channels.</summary>
    public int Capacity => _receiveOnly ? 0 : _ring.Length;

    /// <summary>True once <see cref="Close"/> ran. Values may still be buffered: receive until ok is false.</summary>
    public bool IsClosed => Volatile.Read(ref _closed);

    internal bool IsReceiveOnly => _receiveOnly;

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_lock.IsHeld, "Channel state is read and written only under the channel's lock.");
        Debug.Assert(_recvq.IsEmpty || _sendq.IsEmpty || _recvq.Head!.Select is not null || _sendq.Head!.Select is not null,
            "A channel never has both blocked senders and blocked receivers (select cases aside).");
        Debug.Assert(_recvq.IsEmpty || _count == 0 || _recvq.Head!.Select is not null, "Receivers park only on an empty buffer.");
        Debug.Assert(_sendq.IsEmpty || _count == _ring.Length || _sendq.Head!.Select is not null, "Senders park only on a full buffer.");
        Debug.Assert(!_closed || (_recvq.IsEmpty && _sendq.IsEmpty), "Close empties both queues and nothing parks after it.");
        Debug.Assert(_readyReadq.IsEmpty || (_count == 0 && !_closed), "A read-readiness waiter waits only while the ring is empty and the channel open.");
        Debug.Assert(_readyWriteq.IsEmpty || (_count == _ring.Length && !_closed), "A write-readiness waiter waits only while the ring is full and the channel open.");
    }

    /// <summary>
    /// Queues a waiter that could not complete, under the lock, and returns the readiness waiters its arrival wakes
    /// (a parked sender makes a read possible, a parked receiver a write). The one place a waiter enters a queue:
    /// plain, deferred, adapter and select waits all come through here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Sudog? EnqueueLocked(Sudog<T> w, bool isSend)
    {
        if (isSend)
        {
            _sendq.Enqueue(w);
            return _transport is null ? ReadReadyLocked() : ArmOnEnqueueLocked(ReadReadyLocked());
        }
        _recvq.Enqueue(w);
        PinTimerLocked();
        return _transport is null ? WriteReadyLocked() : ArmOnEnqueueLocked(WriteReadyLocked());
    }

    /// <summary>
    /// <see cref="Sudog.WakeAll"/> with the usual case, one plain waiter of this channel, as a direct call into the
    /// runtime (Continuation.Complete: a committed park is readied by Scheduler.ReadyCommitted) that the JIT inlines
    /// whatever profile it gathered. Through the virtual call, whether the hop inlined the wake-up depended on what
    /// the first few thousand operations of the process did (guarded devirtualization from tier-0 counts), so the
    /// ping-pong's time changed from one run to the next.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WakeAll(Sudog? s)
    {
        if (s is null) return;
        if (s.WakeNext is null && s.GetType() == typeof(ChanWaiter<T>))
        {
            var w = Unsafe.As<ChanWaiter<T>>(s);
            w.Continuation.Complete(ref w.Committed);
        }
        else
        {
            Sudog.WakeAll(s);
        }
    }

    /// <summary>Removes a parked plain waiter (cancellation). True if it was still parked: the caller now owns its outcome.</summary>
    internal bool RemoveWaiter(Sudog<T> w, bool isSend)
    {
        _lock.Enter();
        try
        {
            AssertInvariants();
            return isSend ? _sendq.Remove(w) : _recvq.Remove(w);
        }
        finally
        {
            _lock.Exit();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance() => _head = _head + 1 == _ring.Length ? 0 : _head + 1;

    /// <inheritdoc/>
    public override string ToString() => $"Chan<{typeof(T).Name}>(len {Len}, cap {Capacity}{(IsClosed ? ", closed" : "")})";
}
