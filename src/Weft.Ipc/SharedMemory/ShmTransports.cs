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

using Weft.Channels;
using Weft.Ipc.Streams;

namespace Weft.Ipc.SharedMemory;

/// <summary>The receive side: one ring take per value, decoded straight from the slot.</summary>
internal sealed unsafe class ShmReceiveTransport<T>(ShmRing ring, IpcCodec<T> codec, Action onClosed) : IReceiveTransport<T>
{
    private Exception? _error;
    internal IChanTransportOwner? Owner;

    public Exception? Error => Volatile.Read(ref _error);

    public void Attach(IChanTransportOwner owner) => Owner = owner;

    public bool LooksReadable
    {
        get
        {
            if (!ring.TryEnter()) return true; // detached: a take now reports the channel closed
            bool readable = ring.LooksReadable(out _, out _);
            ring.Exit();
            return readable;
        }
    }

    public bool ArmReceive() => ring.Park(ShmRing.ParkedData); // false once detached: the pump then finds the ring gone

    public TransportStatus TryTake(out T value)
    {
        value = default!;
        if (Volatile.Read(ref _error) is not null) return TransportStatus.Closed;
        if (!ring.TryEnter()) return TransportStatus.Closed;
        try
        {
            while (true)
            {
                switch (ring.TryTake(out ulong pos, out byte* payload, out int length, out ulong blocker, out byte* blockerSlot))
                {
                    case ShmRing.Take.Taken:
                        value = codec.Decode(new ReadOnlySpan<byte>(payload, length), out string? error);
                        ring.Release(pos, payload);
                        if (error is null) return TransportStatus.Done;
                        Volatile.Write(ref _error, new IpcProtocolException($"{error} (shared-memory channel {ring.Name}; this receiver is closed)"));
                        return TransportStatus.Closed;
                    case ShmRing.Take.Closed:
                        return TransportStatus.Closed;
                    default:
                        if (ring.TryRecover(blockerSlot, blocker)) continue;
                        return TransportStatus.NotReady;
                }
            }
        }
        finally
        {
            ring.Exit();
        }
    }

    public void OnChannelClosed() => onClosed();
}

/// <summary>The send side: claim, encode in place, commit; a one-message outbox for the seam's "a put after a Done flush takes it".</summary>
internal sealed unsafe class ShmSendTransport<T>(ShmRing ring, IpcCodec<T> codec, Action onClosed) : ISendTransport<T>
{
    private readonly Lock _gate = new();
    private readonly byte[] _outbox = new byte[ring.MaxMessageSize];
    private int _pending = -1;   // the outbox's length; -1: empty. Guarded by _gate
    private bool _afterFlush;    // the last TryFlush said Done: the next put must take its value. Guarded by _gate
    private bool _closing;       // the channel closed: flush the outbox, then (unless detaching) close the ring
    private bool _done;
    private Exception? _error;
    internal IChanTransportOwner? Owner;

    /// <summary>Set by Dispose before it closes the channel: detach without closing the ring for everyone.</summary>
    internal bool Detaching;

    public Exception? Error => Volatile.Read(ref _error);

    public void Attach(IChanTransportOwner owner) => Owner = owner;

    public bool LooksWritable
    {
        get
        {
            if (Volatile.Read(ref _pending) >= 0) return false;
            if (!ring.TryEnter()) return true; // detached: a put now reports the channel closed
            bool writable = ring.LooksWritable(out _, out _);
            ring.Exit();
            return writable;
        }
    }

    public bool ArmSend() => ring.Park(ShmRing.ParkedSpace);

    public TransportStatus TryFlush()
    {
        lock (_gate)
        {
            var status = FlushLocked();
            _afterFlush = status == TransportStatus.Done;
            return status;
        }
    }

    public TransportStatus TryPut(T value)
    {
        lock (_gate)
        {
            bool mustTake = _afterFlush;
            _afterFlush = false;
            var status = FlushLocked();
            if (status != TransportStatus.Done) return status;
            long need = codec.EncodedLength(value);
            if (need < 0 || need > ring.MaxMessageSize) return TooLarge(need);
            if (!ring.TryEnter()) return TransportStatus.Closed;
            try
            {
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
                            return TransportStatus.Done;
                        case ShmRing.Claim.Closed:
                            return TransportStatus.Closed;
                        default:
                            if (ring.TryRecover(blockerSlot, blocker)) continue;
                            if (!mustTake) return TransportStatus.NotReady;
                            int m = codec.Encode(value, _outbox);
                            if (m < 0) return TooLarge(need);
                            Volatile.Write(ref _pending, m);
                            ParkForOutbox();
                            return TransportStatus.Done;
                    }
                }
            }
            finally
            {
                ring.Exit();
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

    /// <summary>Moves the outbox into the ring if it holds a message. Under _gate.</summary>
    private TransportStatus FlushLocked()
    {
        if (Volatile.Read(ref _error) is not null) return TransportStatus.Closed;
        if (_pending < 0) return TransportStatus.Done;
        if (!ring.TryEnter()) return TransportStatus.Closed;
        try
        {
            while (true)
            {
                switch (ring.TryClaim(out ulong pos, out byte* payload, out ulong blocker, out byte* blockerSlot))
                {
                    case ShmRing.Claim.Claimed:
                        _outbox.AsSpan(0, _pending).CopyTo(new Span<byte>(payload, ring.MaxMessageSize));
                        ring.Commit(pos, payload, _pending);
                        Volatile.Write(ref _pending, -1);
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
        finally
        {
            ring.Exit();
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
