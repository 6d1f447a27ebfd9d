// Chan<T> over a transport: an IPC endpoint is this same Chan<T>, with its values carried by the kernel (a pipe, a
// socket) instead of its ring. The seam (Transport/IChanTransport.cs) is internal; Weft.Ipc builds endpoints on it.
//
// What changes, and where (every other path is the ordinary channel's):
//   * receive endpoint: a one-slot ring. TryReceiveLocked takes the ring's value first, then asks the transport
//     (TakeFromTransportLocked), so a value that no waiter claimed is received before anything newer. Len counts
//     that slot; Capacity is 0 (the buffer that matters is the kernel's). Local sends are refused (receive-only).
//   * send endpoint: no ring. TrySendLocked puts to the transport when no parked sender is ahead (FIFO among
//     senders); else the sender parks.
//   * a goroutine's receive that commits its park (CommitDeferred) asks the transport with TryTakeBeforePark, which
//     may answer NotReady without a system call when an edge is certain to come (IChanTransport.cs); every other
//     receive path asks with TryTake.
//   * a waiter that parks on either appends the channel's arm node to the wake list EnqueueLocked returns, so the
//     transport is armed outside every lock, after the waiter is queued: a readiness edge after that arm finds the
//     waiter; one before it makes the arm say "try again" (Netpoll.cs), and the pump runs at once.
//   * the pump (PumpReceive/PumpSend), called by the transport on readiness or after a failed arm: under the lock,
//     while a live waiter wants it, receive = take, then claim (the value goes to the ring if nobody can be
//     claimed); send = flush, then claim, then put (the put cannot then say NotReady: it fits the outbox). It arms
//     again when the kernel says EAGAIN and someone still waits.
//   * close: a transport that reports Closed closes the channel (CloseLocked, with the transport's Error as the close
//     error) after the values before it; the close node then tells the transport, outside the lock, so it can send
//     its close frame (send endpoint) and release its descriptor. A send that finds the peer gone closes the channel
//     too; the send paths drop the wake list of a Closed outcome, so that close's wake-ups go through the ThreadPool.
//
// The cost to ordinary channels: one test of the readonly _transport field in each not-ready path (TryReceiveLocked,
// TrySendLocked, EnqueueLocked, the deferred paths' racy looks) and in select's peek after the ordinary answers were
// false. The racy looks ask the transport: a send endpoint has no ring, so without it every send would look blocked
// and park its goroutine only to complete at the commit.
//
// The System.Threading.Channels adapters: a readiness wait (WaitToReadAsync) on an empty receive endpoint moves the
// transport's next value into the slot, or parks and arms like a receiver; WaitToWriteAsync is ready when the
// outbox flushes. Left open: a select case's Channel
// property hands the bidirectional Chan back (DirectionalChan.cs says so), so a receive on a send endpoint is
// possible through it; the transport then reports nothing to take and the receiver waits for a local send that
// cannot come.

using System.Runtime.CompilerServices;
using Weft.Channels;
using Weft.Runtime;

namespace Weft;

public sealed partial class Chan<T> : IChanTransportOwner
{
    private readonly IChanTransport<T>? _transport;
    private readonly TransportNode? _armNode;   // arms the transport's direction, outside the lock
    private readonly TransportNode? _closedNode; // tells the transport the channel closed, outside the lock

    /// <summary>An IPC endpoint: a channel whose values <paramref name="transport"/> carries (Weft.Ipc).</summary>
    /// <exception cref="InvalidOperationException">Called inside a bubble.</exception>
    internal Chan(IChanTransport<T> transport)
    {
        if (SynctestBubble.Current is not null)
        {
            throw new InvalidOperationException(
                "An IPC channel cannot be made inside a bubble: its values come from outside the process, where the bubble's "
                + "virtual time and deadlock detection cannot see. Test the logic with in-process channels inside the bubble, "
                + "and IPC outside it.");
        }
        _transport = transport;
        _receiveOnly = transport.IsReceiver;
        _ring = transport.IsReceiver ? new T[1] : [];
        _id = SelectIds.Next();
        _armNode = new TransportNode(this, TransportNode.Arm);
        _closedNode = new TransportNode(this, TransportNode.Closed);
        transport.Attach(this);
    }

    internal bool IsTransport => _transport is not null;

    /// <summary>The transport of an IPC endpoint (null for an ordinary channel); for tests of the seam.</summary>
    internal IChanTransport<T>? Transport => _transport;

    /// <summary>
    /// What a goroutine or thread parked on this channel waits for, for dumps: an endpoint's waiters wait for the
    /// other process (IO wait, as Go names a wait on a descriptor), a local channel's for another goroutine.
    /// </summary>
    internal WaitReason ReasonFor(bool isSend) =>
        _transport is null
            ? isSend ? WaitReason.ChanSend : WaitReason.ChanReceive
            : isSend ? WaitReason.IpcWrite : WaitReason.IpcRead;

    /// <summary>The error the transport ended with (null: open, closed locally, or the peer's close frame).</summary>
    internal Exception? TransportError => _transport?.Error;

    /// <summary>Closes the channel whatever its direction (an endpoint's Dispose); false if already closed.</summary>
    internal bool CloseEndpoint() => CloseNow(error: null);

    /// <summary>TryReceiveLocked's transport branch: the ring was empty.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TakeFromTransportLocked(out T value, out bool ok, out Sudog? wake, bool beforePark = false)
    {
        wake = null;
        ok = false;
        if (_closed || !_transport!.IsReceiver)
        {
            value = default!;
            return _closed;
        }
        switch (beforePark ? _transport.TryTakeBeforePark(out value) : _transport.TryTake(out value))
        {
            case TransportStatus.Done:
                ok = true;
                return true;
            case TransportStatus.NotReady:
                return false;
            default:
                value = default!;
                wake = CloseLocked(_transport.Error);
                return true;
        }
    }

    /// <summary>
    /// A goroutine's committed receive on a receive endpoint (CommitDeferred): TryReceiveLocked, but the transport
    /// may skip a read(2) that would only find EAGAIN, since the waiter parks and arms when nothing is taken.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryReceiveBeforeParkLocked(out T value, out bool ok, out Sudog? wake)
    {
        if (_count > 0 || _closed || !_sendq.IsEmpty) return TryReceiveLocked(out value, out ok, out wake);
        return TakeFromTransportLocked(out value, out ok, out wake, beforePark: true);
    }

    /// <summary>
    /// A readiness wait (ChannelReader.WaitToReadAsync) on an empty receive endpoint: move the transport's next value
    /// into the slot, so "ready" means a receive will find it. Returns the wake list of a close the transport reported.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Sudog? FillSlotFromTransportLocked()
    {
        if (!TakeFromTransportLocked(out T value, out bool ok, out var wake) || !ok) return wake;
        _ring[_head] = value;
        Volatile.Write(ref _count, 1);
        return null;
    }

    /// <summary>TrySendLocked's transport branch: no parked receiver, no ring space (a send endpoint has none).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private OpStatus PutToTransportLocked(T value)
    {
        if (_transport!.IsReceiver || !_sendq.IsEmpty) return OpStatus.NotReady; // parked senders go first (FIFO)
        switch (_transport.TryPut(value))
        {
            case TransportStatus.Done:
                return OpStatus.Done;
            case TransportStatus.NotReady:
                return OpStatus.NotReady;
            default:
                // The send paths drop the wake list of a Closed outcome (it is null for an ordinary closed channel).
                if (CloseLocked(_transport.Error) is { } wake) ThreadPool.UnsafeQueueUserWorkItem(static s => Sudog.WakeAll(s), wake, preferLocal: false);
                return OpStatus.Closed;
        }
    }

    /// <summary>EnqueueLocked's transport branch: a waiter just parked, so arm the transport (once per wake list) after the lock.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Sudog? ArmOnEnqueueLocked(Sudog? ready)
    {
        var node = _armNode!;
        if (node.Pending) return ready; // a wake list not yet run will arm, and its pump serves this waiter too
        node.Pending = true;
        return Sudog.Concat(ready, node);
    }

    void IChanTransportOwner.OnReceiveReady() => PumpReceive();

    void IChanTransportOwner.OnSendReady() => PumpSend();

    private void ArmAndPump()
    {
        if (_transport!.IsReceiver)
        {
            if (!_transport.ArmReceive()) PumpReceive();
        }
        else if (!_transport.ArmSend())
        {
            PumpSend();
        }
    }

    /// <summary>Receive endpoint: take, then claim, while a live waiter wants a value; arm again on EAGAIN. Outside locks.</summary>
    private void PumpReceive()
    {
        var transport = _transport!;
        while (true)
        {
            Sudog? wake = null;
            bool arm = false;
            _lock.Enter();
            AssertInvariants();
            while (!_closed && _count == 0 && (_recvq.HasLive() || !_readyReadq.IsEmpty))
            {
                var status = transport.TryTake(out T value);
                if (status == TransportStatus.NotReady)
                {
                    arm = true;
                    break;
                }
                if (status == TransportStatus.Closed)
                {
                    wake = Sudog.Concat(wake, CloseLocked(transport.Error));
                    break;
                }
                if (_recvq.DequeueClaimed() is { } r)
                {
                    r.Value = value;
                    r.Ok = true;
                    wake = Sudog.Concat(wake, r);
                }
                else
                {
                    // Every parked receiver was a select that another case won meanwhile: the value waits in the slot.
                    _ring[_head] = value;
                    Volatile.Write(ref _count, 1);
                    wake = Sudog.Concat(wake, ReadReadyLocked());
                }
            }
            _lock.Exit();
            Sudog.WakeAll(wake);
            if (!arm || transport.ArmReceive()) return;
        }
    }

    /// <summary>Send endpoint: flush, claim, put, while a live sender waits; arm again on EAGAIN. Outside locks.</summary>
    private void PumpSend()
    {
        var transport = _transport!;
        while (true)
        {
            Sudog? wake = null;
            bool arm = false;
            _lock.Enter();
            AssertInvariants();
            while (!_closed && (_sendq.HasLive() || !_readyWriteq.IsEmpty))
            {
                var status = transport.TryFlush();
                if (status == TransportStatus.NotReady)
                {
                    arm = true;
                    break;
                }
                if (status == TransportStatus.Done && _sendq.DequeueClaimed() is { } s)
                {
                    status = transport.TryPut(s.Value); // Done or Closed: after a Done flush the frame fits (IChanTransport's seam rule)
                    System.Diagnostics.Debug.Assert(status != TransportStatus.NotReady, "A put after a successful flush must not fail: the sender is already claimed.");
                    s.Ok = status == TransportStatus.Done;
                    wake = Sudog.Concat(wake, s);
                    if (status == TransportStatus.Done) continue;
                }
                if (status == TransportStatus.Closed)
                {
                    wake = Sudog.Concat(wake, CloseLocked(transport.Error));
                    break;
                }
                wake = Sudog.Concat(wake, WriteReadyLocked()); // no live sender left: readiness waiters may try
                break;
            }
            _lock.Exit();
            Sudog.WakeAll(wake);
            if (!arm || transport.ArmSend()) return;
        }
    }

    /// <summary>A wake-list node that runs the transport's side of an event after the channel's lock is released.</summary>
    private sealed class TransportNode(Chan<T> channel, byte kind) : Sudog
    {
        internal const byte Arm = 0, Closed = 1;

        /// <summary>In a wake list not yet run; guarded by the channel lock (cleared by Wake, which runs after it).</summary>
        internal bool Pending;

        internal override void Wake()
        {
            Volatile.Write(ref Pending, false);
            if (kind == Arm) channel.ArmAndPump();
            else channel._transport!.OnChannelClosed();
        }
    }
}
