// ShmTransports — the shared-memory ring behind the transport seam (Channels/Transport/IChanTransport.cs): a
// receive transport that takes a committed slot, decodes it in place and frees it, and a send transport that claims
// a slot, encodes into it and commits. IpcSharedMemory.cs has the design; ShmRing.cs the protocol.
//
// The seam's rules, kept here:
//   * receive: take first, then claim. TryTake takes from the ring only when the channel asked for a value; a value
//     no live waiter takes waits in the channel's one-slot ring (counted in Len). Nothing is prefetched.
//   * send: after TryFlush said Done, the put must take the value whole (the pump has already claimed the sender).
//     Another process may fill the ring between the flush and the put, so such a put that finds the ring full keeps
//     the encoded value in a one-message outbox, flushed before anything else this endpoint sends, by the doorbell
//     when space comes, and before this endpoint's close. A put that was not preceded by a Done flush (a plain send)
//     says NotReady instead, and the sender parks.
//   * close: the send channel's Close is Go's close of the shared channel: the outbox first, then the ring's close
//     mark, for every process. Dispose detaches without closing the ring (IpcSharedMemory<T>.Dispose).
//
// Detach: why the per-message paths take no ring gate. ShmRing.TryEnter/Exit (an interlocked increment and decrement
// of a counter that Dispose waits on, so that it never unmaps under a running operation) used to bracket every take
// and put. They are not needed there, because the channel already orders every take and put before the unmap:
//   * TryTake, TryPut and TryFlush run under the channel's lock, and only while the channel is open: each caller
//     (TakeFromTransportLocked, PutToTransportLocked, PumpReceive, PumpSend, WaitToWriteAsync) tests _closed under
//     that same lock first (Chan.Transport.cs).
//   * The ring is unmapped only by ShmRing.Dispose, which only IpcSharedMemory<T>.DirectionDone calls, once both
//     directions are done: the receiver's OnChannelClosed, and the sender's onClosed at the end of ContinueClosing.
//     OnChannelClosed runs from the close node of the wake list that the closing critical section (the one that set
//     _closed) returned, after that section released the lock.
//   So every take or put is in a critical section before the closing one; the lock's release/acquire, the wake list
//   and DirectionDone's interlocked decrement order it before Dispose, which therefore never unmaps under one and
//   none starts after. The outbox flushes outside the channel lock are ordered by _gate instead: OnRing flushes only
//   while !_closing, read under _gate, and OnChannelClosed sets _closing under _gate before ContinueClosing, whose
//   own flush comes before its onClosed. What still takes the gate runs outside both locks, at any time, even after
//   the detach: the hints' ring look below, Park, UnparkAll and WakeAll (the doorbell and cancellation paths).
//
// The send gate (_gate): it orders the outbox between the channel lock's puts and the doorbell's OnRing. Only a put
//   fills the outbox, under the channel lock; OnRing and ContinueClosing empty it under _gate (after their commit). So
//   a put under the channel lock that reads _pending == -1 knows the outbox is empty and stays empty for the rest of
//   its critical section, and that any flush of an earlier outbox message committed before (the Volatile.Write of -1
//   after the commit pairs with that read): it claims and commits without the gate, in order. It takes the gate only
//   to flush a full outbox or to fill it.
//
// The hints (LooksReadable, LooksWritable): racy by contract; the channel decides only under its lock, with a real
//   TryTake or TryPut. Each answers "ready" from the last outcome when the last take (put) succeeded, without touching
//   the ring; otherwise it looks at the ring, inside the ring's gate. A wrong "ready" costs one locked try that says
//   NotReady, after which the waiter parks and arms as always (ArmReceive/ArmSend look at the ring again after
//   setting the parked bit, so nothing committed meanwhile is missed). A wrong "not ready" can only come from the
//   ring look, exactly as before this shortcut, and loses no wake-up either: it sends a goroutine down the deferred
//   path, whose commit tries again under the lock, or leaves a select case to its locked pass (Chan.Select.cs).

using Weft.Channels;
using Weft.Ipc.Streams;

namespace Weft.Ipc.SharedMemory;

/// <summary>The receive side: one ring take per value, decoded straight from the slot.</summary>
internal sealed unsafe class ShmReceiveTransport<T>(ShmRing ring, IpcCodec<T> codec, Action onClosed) : IReceiveTransport<T>
{
    private Exception? _error;
    private bool _lastTook; // the last TryTake took a value: written under the channel lock, read racily by LooksReadable
    internal IChanTransportOwner? Owner;

    public Exception? Error => Volatile.Read(ref _error);

    public void Attach(IChanTransportOwner owner) => Owner = owner;

    /// <summary>
    /// A hint (see "The hints" in the essay): true without touching the ring when the last take took a value; else the
    /// ring's own racy look, inside the ring's operation gate (this runs outside the channel lock, so a detach may be
    /// unmapping).
    /// </summary>
    public bool LooksReadable
    {
        get
        {
            if (Volatile.Read(ref _lastTook)) return true;
            if (!ring.TryEnter()) return true; // detached: a take now reports the channel closed
            bool readable = ring.LooksReadable(out _, out _);
            ring.Exit();
            return readable;
        }
    }

    public bool ArmReceive() => ring.Park(ShmRing.ParkedData); // false once detached: the pump then finds the ring gone

    /// <summary>Under the channel lock, before the channel closed: no ring gate needed (see "Detach" in the essay).</summary>
    public TransportStatus TryTake(out T value)
    {
        value = default!;
        if (Volatile.Read(ref _error) is not null) return TransportStatus.Closed;
        while (true)
        {
            switch (ring.TryTake(out ulong pos, out byte* payload, out int length, out ulong blocker, out byte* blockerSlot))
            {
                case ShmRing.Take.Taken:
                    value = codec.Decode(new ReadOnlySpan<byte>(payload, length), out string? error);
                    ring.Release(pos, payload);
                    if (error is null)
                    {
                        if (!_lastTook) Volatile.Write(ref _lastTook, true);
                        return TransportStatus.Done;
                    }
                    Volatile.Write(ref _error, new IpcProtocolException($"{error} (shared-memory channel {ring.Name}; this receiver is closed)"));
                    return TransportStatus.Closed;
                case ShmRing.Take.Closed:
                    return TransportStatus.Closed;
                default:
                    if (ring.TryRecover(blockerSlot, blocker)) continue;
                    if (_lastTook) Volatile.Write(ref _lastTook, false);
                    return TransportStatus.NotReady;
            }
        }
    }

    public void OnChannelClosed() => onClosed();

    internal string Describe() => $"last take {(Volatile.Read(ref _lastTook) ? "took" : "found nothing")}";
}

/// <summary>The send side: claim, encode in place, commit; a one-message outbox for the seam's "a put after a Done flush takes it".</summary>
internal sealed unsafe class ShmSendTransport<T>(ShmRing ring, IpcCodec<T> codec, Action onClosed) : ISendTransport<T>
{
    private readonly Lock _gate = new();
    private readonly byte[] _outbox = new byte[ring.MaxMessageSize];
    private int _pending = -1;   // the outbox's length; -1: empty. Filled only under the channel lock and _gate, emptied under _gate; read racily (see "The send gate")
    private bool _afterFlush;    // the last TryFlush said Done: the next put must take its value. Guarded by the channel lock
    private bool _lastPut;       // the last put went into the ring: written under the channel lock, read racily by LooksWritable
    private bool _closing;       // the channel closed: flush the outbox, then (unless detaching) close the ring
    private bool _done;
    private Exception? _error;
    internal IChanTransportOwner? Owner;

    /// <summary>Set by Dispose before it closes the channel: detach without closing the ring for everyone.</summary>
    internal bool Detaching;

    public Exception? Error => Volatile.Read(ref _error);

    public void Attach(IChanTransportOwner owner) => Owner = owner;

    /// <summary>
    /// A hint (see "The hints" in the essay): false while the outbox holds a message; true without touching the ring
    /// when the last put went into the ring; else the ring's own racy look inside its operation gate.
    /// </summary>
    public bool LooksWritable
    {
        get
        {
            if (Volatile.Read(ref _pending) >= 0) return false;
            if (Volatile.Read(ref _lastPut)) return true;
            if (!ring.TryEnter()) return true; // detached: a put now reports the channel closed
            bool writable = ring.LooksWritable(out _, out _);
            ring.Exit();
            return writable;
        }
    }

    public bool ArmSend() => ring.Park(ShmRing.ParkedSpace);

    /// <summary>Under the channel lock. Takes the gate only when the outbox holds a message (see "The send gate").</summary>
    public TransportStatus TryFlush()
    {
        if (Volatile.Read(ref _pending) < 0)
        {
            // Only a put under this channel lock fills the outbox, so it stays empty until this lock is released.
            bool ok = Volatile.Read(ref _error) is null;
            _afterFlush = ok;
            return ok ? TransportStatus.Done : TransportStatus.Closed;
        }
        lock (_gate)
        {
            var status = FlushLocked();
            _afterFlush = status == TransportStatus.Done;
            return status;
        }
    }

    /// <summary>
    /// Under the channel lock, before the channel closed. The common case (outbox empty, a slot free) claims, encodes
    /// and commits without the gate: see "The send gate" in the essay.
    /// </summary>
    public TransportStatus TryPut(T value)
    {
        bool mustTake = _afterFlush;
        _afterFlush = false;
        if (Volatile.Read(ref _error) is not null) return TransportStatus.Closed;
        if (Volatile.Read(ref _pending) >= 0)
        {
            lock (_gate)
            {
                var flushed = FlushLocked();
                if (flushed != TransportStatus.Done) return flushed; // the outbox is still full: nothing taken (never after a Done flush)
            }
        }
        // The outbox is empty, and stays so until this put returns: only a put under this channel lock fills it.
        var status = PutToRing(value, out long need);
        if (status != TransportStatus.NotReady) return status;
        if (_lastPut) Volatile.Write(ref _lastPut, false);
        if (!mustTake) return TransportStatus.NotReady;
        lock (_gate)
        {
            // The ring was full after a Done flush: the value goes to the outbox (the seam rule). Under the gate, since
            // the doorbell's OnRing flushes the outbox from outside the channel lock.
            int m = codec.Encode(value, _outbox);
            if (m < 0) return TooLarge(need);
            Volatile.Write(ref _pending, m);
            ParkForOutbox();
            return TransportStatus.Done;
        }
    }

    /// <summary>Claims, encodes in place and commits; NotReady (nothing taken) if the ring is full.</summary>
    private TransportStatus PutToRing(T value, out long need)
    {
        need = codec.EncodedLength(value);
        if (need < 0 || need > ring.MaxMessageSize) return TooLarge(need);
        while (true)
        {
            switch (ring.TryClaim(out ulong pos, out byte* payload, out ulong blocker, out byte* blockerSlot))
            {
                case ShmRing.Claim.Claimed:
                    *(uint*)(payload - 8) = (uint)need;
                    ShmRing.CrashHook?.Invoke(ShmCrashPoint.MidCopy);
                    int n = codec.Encode(value, new Span<byte>(payload, ring.MaxMessageSize));
                    if (n < 0)
                    {
                        ring.Abandon(pos, payload); // the codec refused after the claim: readers skip the slot
                        return TooLarge(need);
                    }
                    ring.Commit(pos, payload, n);
                    if (!_lastPut) Volatile.Write(ref _lastPut, true);
                    return TransportStatus.Done;
                case ShmRing.Claim.Closed:
                    return TransportStatus.Closed;
                default:
                    if (ring.TryRecover(blockerSlot, blocker)) continue;
                    return TransportStatus.NotReady;
            }
        }
    }

    private TransportStatus TooLarge(long need)
    {
        string what = need < 0 ? "A null value" : $"A value of {need} bytes";
        Volatile.Write(ref _error, new ArgumentException(
            $"{what} cannot be sent on shared-memory channel {ring.Name}: its slots carry at most {ring.MaxMessageSize} bytes "
            + "(the maximum message size it was created with) and the codec's own limit. This sender is closed; the ring stays open."));
        return TransportStatus.Closed;
    }

    /// <summary>
    /// Moves the outbox into the ring if it holds a message. Under _gate, and before the ring is disposed: from the
    /// channel lock before the channel closed, from OnRing before _closing, or from ContinueClosing before onClosed.
    /// </summary>
    private TransportStatus FlushLocked()
    {
        if (Volatile.Read(ref _error) is not null) return TransportStatus.Closed;
        if (_pending < 0) return TransportStatus.Done;
        while (true)
        {
            switch (ring.TryClaim(out ulong pos, out byte* payload, out ulong blocker, out byte* blockerSlot))
            {
                case ShmRing.Claim.Claimed:
                    _outbox.AsSpan(0, _pending).CopyTo(new Span<byte>(payload, ring.MaxMessageSize));
                    ring.Commit(pos, payload, _pending);
                    Volatile.Write(ref _pending, -1); // after the commit: a put that reads -1 comes after this message
                    return TransportStatus.Done;
                case ShmRing.Claim.Closed:
                    // Another participant closed the ring before this outbox got in: the value cannot be delivered.
                    Volatile.Write(ref _pending, -1);
                    Volatile.Write(ref _error, new ChannelClosedException(
                        $"Shared-memory channel {ring.Name} was closed by another participant while this sender's last value waited in its outbox for a free slot; that value was not delivered."));
                    return TransportStatus.Closed;
                default:
                    if (ring.TryRecover(blockerSlot, blocker)) continue;
                    return TransportStatus.NotReady;
            }
        }
    }

    /// <summary>The outbox holds a message: make sure the doorbell rings when space comes, even if no sender waits.</summary>
    private void ParkForOutbox()
    {
        if (!ring.Park(ShmRing.ParkedSpace)) ThreadPool.UnsafeQueueUserWorkItem(static t => t.OnRing(), this, preferLocal: false);
    }

    /// <summary>The doorbell rang (space may have come): flush the outbox, continue a close, then let the channel pump.</summary>
    internal void OnRing()
    {
        bool closing;
        lock (_gate)
        {
            closing = _closing;
            if (_pending >= 0 && !closing)
            {
                if (FlushLocked() == TransportStatus.NotReady) ParkForOutbox();
            }
        }
        if (closing) ContinueClosing();
        else Owner?.OnSendReady();
    }

    internal string Describe() => $"outbox {Volatile.Read(ref _pending)}, last put {(Volatile.Read(ref _lastPut) ? "went in" : "found no room")}, closing {_closing}, done {_done}";

    public void OnChannelClosed()
    {
        lock (_gate) _closing = true;
        ContinueClosing();
    }

    /// <summary>Flushes the outbox (waiting for space through the doorbell), then closes the ring unless detaching; then lets go.</summary>
    private void ContinueClosing()
    {
        lock (_gate)
        {
            if (_done) return;
            if (_pending >= 0)
            {
                var status = FlushLocked();
                if (status == TransportStatus.NotReady)
                {
                    // Close or detach alike: the value already counted as sent goes in first, when a slot frees.
                    ParkForOutbox();
                    return;
                }
            }
            _done = true;
            if (!Detaching && Volatile.Read(ref _error) is null)
            {
                try
                {
                    ring.Close();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
        onClosed();
    }
}
