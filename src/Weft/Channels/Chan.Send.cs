// Chan<T>, sending: the locked core shared by every send form (async, blocking, Try, select case, timer).

using System.Runtime.CompilerServices;
using Weft.Channels;
using Weft.Runtime;

namespace Weft;

public sealed partial class Chan<T>
{

    /// <summary>
    /// Sends <paramref name="value"/>, waiting while no receiver can take it (unbuffered: until a receiver arrives;
    /// buffered: while the buffer is full).
    /// </summary>
    /// <param name="value">The value to send.</param>
    /// <param name="cancellationToken">Gives up the send; a cancelled send never delivered its value.</param>
    /// <returns>A <see cref="ValueTask"/> to await exactly once.</returns>
    /// <exception cref="ChannelClosedException">The channel is closed, or was closed while the send waited (thrown when awaited).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a receiver took the value. A token already cancelled at the call wins even over a ready counterpart: nothing is sent (as in System.Threading.Channels).</exception>
    /// <exception cref="InvalidOperationException">The channel is a receive-only timer channel.</exception>
    /// <remarks>Allocates nothing in steady state when <paramref name="cancellationToken"/> cannot be cancelled.</remarks>
    /// <example><code>await ch.SendAsync(42);</code></example>
    public ValueTask SendAsync(T value, CancellationToken cancellationToken = default)
    {
        // Kept apart from WriteForAdapterAsync (same steps, another exception): one shared inlined core changed what
        // the JIT inlines into a goroutine's state machine and slowed the ping-pong.
        CheckBubble();
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        if (!cancellationToken.CanBeCanceled)
        {
            if (SendLooksBlocked() && Goroutine.Current is { CanDefer: true } g)
            {
                var d = ChanWaiter<T>.RentDeferred(this, isSend: true, g);
                d.Value = value;
                return new ValueTask(d, d.Version);
            }
        }
        return SendLockedAsync(value, cancellationToken);
    }

    /// <summary>
    /// SendAsync past the deferred path. Out of line so that both of SendAsync's returns leave in registers: with the
    /// pending and completed ValueTasks of this path in the same method, the JIT assembled every return in memory
    /// piecewise and reloaded it whole (a failed store forward on the deferred path the ping-pong takes every hop).
    /// Costs the buffered fast path a jump.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask SendLockedAsync(T value, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        _lock.EnterYielding();
        AssertInvariants();
        OpStatus status = TrySendLocked(value, out var wake);
        if (status == OpStatus.NotReady)
        {
            var w = ChanWaiter<T>.Rent(this, isSend: true, cancellationToken);
            w.Value = value;
            var ready = EnqueueLocked(w, isSend: true);
            short version = w.Version;
            _lock.Exit();
            WakeAll(ready);
            w.Arm();
            return new ValueTask(w, version);
        }
        _lock.Exit();
        if (status == OpStatus.Closed) return ValueTask.FromException(new ChannelClosedException("Send on a closed channel."));
        WakeAll(wake);
        return default;
    }

    /// <summary>True when a send could not complete now, as far as a racy look can tell (the lock, or a deferred wait's commit, looks again).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SendLooksBlocked() => _recvq.IsEmpty && Volatile.Read(ref _count) == _ring.Length && !Volatile.Read(ref _closed)
        && (_transport is null || !_transport.LooksWritable); // an IPC send endpoint has no ring: ask its transport

    /// <summary>Sends <paramref name="value"/>, blocking the calling thread while no receiver can take it. For plain threads; goroutines use <see cref="SendAsync"/>.</summary>
    /// <param name="value">The value to send.</param>
    /// <param name="cancellationToken">Gives up the send; a cancelled send never delivered its value.</param>
    /// <exception cref="ChannelClosedException">The channel is closed, or was closed while the send waited.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a receiver took the value. A token already cancelled at the call wins even over a ready counterpart: nothing is sent (as in System.Threading.Channels).</exception>
    /// <example><code>ch.Send(42);</code></example>
    /// <remarks>
    /// Parks the thread on its own reusable event, woken directly by the counterparty: no Task, no ThreadPool hop, and
    /// nothing allocated in steady state. Called from a goroutine, it hands the goroutine's processor to another
    /// thread while it blocks (as <see cref="Go.Blocking(Action)"/> does). Refused inside a bubble when it would block.
    /// </remarks>
    public void Send(T value, CancellationToken cancellationToken = default)
    {
        CheckBubble();
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        cancellationToken.ThrowIfCancellationRequested();
        _lock.EnterYielding();
        AssertInvariants();
        OpStatus status = TrySendLocked(value, out var wake);
        if (status == OpStatus.NotReady)
        {
            var w = ParkBlocking(isSend: true, value);
            w.Wait(cancellationToken, out bool taken);
            if (!taken) ThrowHelper.ChannelClosed();
            return;
        }
        _lock.Exit();
        if (status == OpStatus.Closed) ThrowHelper.ChannelClosed();
        WakeAll(wake);
    }

    /// <summary>Queues this thread's blocking waiter; called with the lock held, returns with it released.</summary>
    private BlockingWaiter<T> ParkBlocking(bool isSend, T value)
    {
        if (SynctestBubble.Current is not null)
        {
            _lock.Exit();
            Parker.CheckNotInBubble();
        }
        var w = BlockingWaiter<T>.Rent(this, isSend);
        w.Value = value;
        var ready = EnqueueLocked(w, isSend);
        _lock.Exit();
        WakeAll(ready);
        return w;
    }

    /// <summary>Sends <paramref name="value"/> if a receiver or buffer space can take it now (Go's select with a send case and a default).</summary>
    /// <param name="value">The value to send.</param>
    /// <returns>True if the value was sent; false if the send would have had to wait.</returns>
    /// <exception cref="ChannelClosedException">The channel is closed.</exception>
    /// <example><code>if (!ch.TrySend(x)) dropped++;</code></example>
    public bool TrySend(T value)
    {
        OpStatus status = TrySendStatus(value);
        if (status == OpStatus.Closed) ThrowHelper.ChannelClosed();
        return status == OpStatus.Done;
    }

    /// <summary>The non-blocking send behind TrySend and ChanWriter.TryWrite: Done, NotReady or Closed.</summary>
    internal OpStatus TrySendStatus(T value)
    {
        CheckBubble();
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        _lock.EnterYielding();
        AssertInvariants();
        OpStatus status = TrySendLocked(value, out var wake);
        _lock.Exit();
        WakeAll(wake); // null when Closed
        return status;
    }

    /// <summary>
    /// The send fast path, under the lock: hand off to the first parked receiver that can be claimed, else buffer.
    /// <paramref name="wake"/> is the receiver to resume after the lock is released.
    /// </summary>
    /// <remarks>
    /// The claim: a plain receiver's is the dequeue itself (a completer, Close and Cancel all take it out of the queue
    /// under this lock, so exactly one finds it); only a select case at the head needs its select's claim, and past a
    /// losing one, SudogQueue's loop (Waiters/Sudog.cs). So the plain hand-off touches only the runtime's queue.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal OpStatus TrySendLocked(T value, out Sudog? wake)
    {
        wake = null;
        if (_closed) return OpStatus.Closed;
        var r = _recvq.Dequeue();
        if (r?.Select is { } sel && !sel.TryClaim(r.CaseIndex)) r = _recvq.DequeueClaimed();
        if (r is not null)
        {
            r.Value = value;
            r.Ok = true;
            wake = r;
            return OpStatus.Done;
        }
        if (_count < _ring.Length)
        {
            int tail = _head + _count;
            if (tail >= _ring.Length) tail -= _ring.Length;
            _ring[tail] = value;
            Volatile.Write(ref _count, _count + 1);
            wake = ReadReadyLocked(); // null unless an adapter waits (one bool test)
            return OpStatus.Done;
        }
        if (_transport is not null) return PutToTransportLocked(value);
        return OpStatus.NotReady;
    }

    /// <summary>
    /// A timer or ticker fired: hand the time to a parked receiver, else buffer it in the one slot, else drop it (a
    /// ticker whose receiver is slow). Returns the receiver to resume after the caller's locks are released.
    /// </summary>
    internal Sudog? OfferFromTimer(T value)
    {
        _lock.Enter();
        try
        {
            AssertInvariants();
            if (_recvq.DequeueClaimed() is { } r)
            {
                r.Value = value;
                r.Ok = true;
                return r;
            }
            if (_count == 0)
            {
                _ring[_head] = value;
                Volatile.Write(ref _count, 1);
                return ReadReadyLocked();
            }
            return null;
        }
        finally
        {
            _lock.Exit();
        }
    }

    /// <summary>Discards a buffered timer value (Timer.Stop/Reset, Go 1.23). True if one was discarded.</summary>
    internal bool DrainTimer()
    {
        _lock.Enter();
        try
        {
            AssertInvariants();
            if (_count == 0) return false;
            _ring[_head] = default!;
            Volatile.Write(ref _count, 0);
            return true;
        }
        finally
        {
            _lock.Exit();
        }
    }
}
