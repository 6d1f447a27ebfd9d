// Chan<T>, readiness: what the System.Threading.Channels adapters (ChanReader, ChanWriter) need beyond Go's
// operations — waiting until a receive or a send could proceed without performing it, and a completion that fires
// once the channel is closed and drained.
//
// Readiness waiters (ReadyWaiter) sit in two queues of their own, never in recvq/sendq, so no hand-off can pick
// them. Invariants, under _lock (they mirror those of recvq/sendq):
//   * a read waiter is queued only while a receive would have to wait: ring empty, no live parked sender, open;
//   * a write waiter only while a send would have to wait: ring full (always, when unbuffered), no live parked
//     receiver, open.
// So every transition that breaks one wakes the whole queue (the woken callers then try, and may lose the race,
// which System.Threading.Channels allows):
//   read:  a value buffered (TrySendLocked, OfferFromTimer), a sender parked (SendAsync, Send, a select's send case),
//   write: a ring slot freed (TryReceiveLocked), a receiver parked (ReceiveAsync, Receive, a select's receive case),
//   both:  Close.
// The hot paths test one bool under the lock (_adapted: set by the first readiness wait or Completion read, never
// cleared), and only an adapted channel looks at the queues; the wake lists ride on the `wake` the operation already
// returns (Sudog.WakeAll).

using System.Runtime.CompilerServices;
using Weft.Channels;
using Weft.Runtime;

namespace Weft;

public sealed partial class Chan<T>
{
    private WaitQueue<Sudog<T>> _readyReadq;   // guarded by _lock
    private WaitQueue<Sudog<T>> _readyWriteq;  // guarded by _lock
    private DrainSignal? _drain;        // guarded by _lock; created by the first Completion read
    private ChanReader<T>? _reader;
    private ChanWriter<T>? _writer;

    /// <summary>The error a <see cref="System.Threading.Channels.ChannelWriter{T}"/> completed the channel with; written before the close.</summary>
    internal Exception? CloseError;

    /// <summary>Readiness waiters to wake because a receive became possible; null when there are none. Caller holds the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Sudog? ReadReadyLocked() => !_adapted || _readyReadq.IsEmpty ? null : _readyReadq.TakeAll(ok: true);

    /// <summary>Readiness waiters to wake because a send became possible; null when there are none. Caller holds the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Sudog? WriteReadyLocked() => !_adapted || _readyWriteq.IsEmpty ? null : _readyWriteq.TakeAll(ok: true);

    /// <summary>After a value left the ring: wake write waiters, and the completion if that drained a closed channel.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Sudog? AfterRingTakeLocked() => Sudog.Concat(WriteReadyLocked(), DrainSignalLocked());

    /// <summary>The completion signal to fire now, if the channel is closed and drained and it has not fired. Caller holds the lock.</summary>
    private DrainSignal? DrainSignalLocked()
    {
        if (_drain is not { Fired: false } d || !_closed || _count != 0) return null;
        d.Fired = true;
        return d;
    }

    /// <summary>Waits until a receive could complete now: true for a value (or a parked sender), false once closed and drained.</summary>
    internal ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        CheckBubble();
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<bool>(cancellationToken);
        _lock.Enter();
        AssertInvariants();
        var closing = _transport is not null && _count == 0 && !_closed ? FillSlotFromTransportLocked() : null;
        if (_count > 0 || _sendq.HasLive() || _closed)
        {
            bool ready = _count > 0 || !_closed;
            _lock.Exit();
            Sudog.WakeAll(closing);
            if (!ready && CloseError is { } error) return ValueTask.FromException<bool>(error);
            return new ValueTask<bool>(ready);
        }
        var w = ReadyWaiter<T>.Rent(this, forWrite: false, cancellationToken);
        _adapted = true;
        _readyReadq.Enqueue(w);
        PinTimerLocked();
        var arm = _transport is null ? null : ArmOnEnqueueLocked(null);
        _lock.Exit();
        Sudog.WakeAll(arm);
        w.Arm();
        return new ValueTask<bool>(w, w.Version);
    }

    /// <summary>Waits until a send could complete now: true for space (or a parked receiver), false once closed.</summary>
    internal ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken)
    {
        CheckBubble();
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<bool>(cancellationToken);
        _lock.Enter();
        AssertInvariants();
        // A send endpoint can write when its outbox flushes (Closed too: the write that follows reports it).
        if (_closed || _count < _ring.Length || _recvq.HasLive()
            || (_transport is not null && _sendq.IsEmpty && _transport.TryFlush() != TransportStatus.NotReady))
        {
            bool closed = _closed;
            _lock.Exit();
            if (closed && CloseError is { } error) return ValueTask.FromException<bool>(error);
            return new ValueTask<bool>(!closed);
        }
        var w = ReadyWaiter<T>.Rent(this, forWrite: true, cancellationToken);
        _adapted = true;
        _readyWriteq.Enqueue(w);
        var arm = _transport is null ? null : ArmOnEnqueueLocked(null);
        _lock.Exit();
        Sudog.WakeAll(arm);
        w.Arm();
        return new ValueTask<bool>(w, w.Version);
    }

    /// <summary>ChannelReader.ReadAsync: a receive that fails with System.Threading.Channels' exception once closed and drained.</summary>
    internal ValueTask<T> ReadForAdapterAsync(CancellationToken cancellationToken)
    {
        CheckBubble();
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<T>(cancellationToken);
        _lock.Enter();
        AssertInvariants();
        if (TryReceiveLocked(out T value, out bool ok, out var wake))
        {
            _lock.Exit();
            WakeAll(wake);
            return ok ? new ValueTask<T>(value) : ValueTask.FromException<T>(ThrowHelper.AdapterClosedException(this));
        }
        var w = Park(adapter: true, cancellationToken);
        return new ValueTask<T>(w, w.Version);
    }

    /// <summary>ChannelWriter.WriteAsync: a send that fails with System.Threading.Channels' exception once closed.</summary>
    internal ValueTask WriteForAdapterAsync(T value, CancellationToken cancellationToken)
    {
        CheckBubble();
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        _lock.Enter();
        AssertInvariants();
        OpStatus status = TrySendLocked(value, out var wake);
        if (status == OpStatus.NotReady)
        {
            var w = ChanWaiter<T>.Rent(this, isSend: true, cancellationToken, adapter: true);
            w.Value = value;
            var ready = EnqueueLocked(w, isSend: true);
            _lock.Exit();
            WakeAll(ready);
            w.Arm();
            return new ValueTask(w, w.Version);
        }
        _lock.Exit();
        if (status == OpStatus.Closed) return ValueTask.FromException(ThrowHelper.AdapterClosedException(this));
        WakeAll(wake);
        return default;
    }

    /// <summary>Removes a readiness waiter (cancellation). True if it was still queued: the caller owns its outcome.</summary>
    internal bool RemoveReadyWaiter(ReadyWaiter<T> w, bool forWrite)
    {
        _lock.Enter();
        try
        {
            return forWrite ? _readyWriteq.Remove(w) : _readyReadq.Remove(w);
        }
        finally
        {
            _lock.Exit();
        }
    }

    /// <summary>The value the next receive would take, if one is available now.</summary>
    internal bool TryPeek(out T value)
    {
        CheckBubble();
        _lock.Enter();
        AssertInvariants();
        bool found;
        if (_count > 0)
        {
            value = _ring[_head];
            found = true;
        }
        else if (_ring.Length == 0 && _sendq.HasLive())
        {
            value = _sendq.Head!.Value;
            found = true;
        }
        else
        {
            value = default!;
            found = false;
        }
        _lock.Exit();
        return found;
    }

    /// <summary>A task that completes once the channel is closed and drained (faulted with <see cref="CloseError"/> if set).</summary>
    internal Task Completion
    {
        get
        {
            CheckBubble();
            _lock.Enter();
            _adapted = true;
            var d = _drain ??= new DrainSignal(this);
            var fire = DrainSignalLocked();
            _lock.Exit();
            fire?.Wake();
            return d.Task;
        }
    }

    /// <summary>Fires <see cref="Completion"/>: a wake-list node, so the receive that drains the channel fires it after unlocking.</summary>
    private sealed class DrainSignal(Chan<T> channel) : Sudog
    {
        private readonly TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Guarded by the channel lock: the signal joins a wake list at most once.</summary>
        public bool Fired;

        public Task Task => _tcs.Task;

        internal override void Wake()
        {
            if (channel.CloseError is { } error) _tcs.TrySetException(error);
            else _tcs.TrySetResult();
        }
    }

    /// <summary>
    /// This channel as a <see cref="System.Threading.Channels.ChannelReader{T}"/>, for code written against
    /// System.Threading.Channels (ASP.NET Core streaming, SignalR, pipelines). One instance per channel.
    /// </summary>
    /// <returns>A reader whose operations are this channel's receives.</returns>
    /// <remarks>
    /// TryRead is <see cref="TryReceive(out T)"/>; ReadAsync receives and throws
    /// <see cref="System.Threading.Channels.ChannelClosedException"/> once the channel is closed and drained (Weft's own
    /// receives return default with ok = false instead); WaitToReadAsync waits until a receive could proceed without
    /// taking the value; Completion completes once the channel is closed and drained (faulted if it was completed
    /// with an error). Cancellation is exact, as for the channel: a cancelled read or wait consumed nothing.
    /// </remarks>
    /// <example><code>ChannelReader&lt;int&gt; r = ch.AsChannelReader(); await foreach (int v in r.ReadAllAsync()) Use(v);</code></example>
    public System.Threading.Channels.ChannelReader<T> AsChannelReader() =>
        _reader ?? Interlocked.CompareExchange(ref _reader, new ChanReader<T>(this), null) ?? _reader!;

    /// <summary>
    /// This channel as a <see cref="System.Threading.Channels.ChannelWriter{T}"/>, for code written against
    /// System.Threading.Channels. One instance per channel.
    /// </summary>
    /// <returns>A writer whose operations are this channel's sends.</returns>
    /// <remarks>
    /// TryWrite is <see cref="TrySend"/>; WriteAsync sends and throws
    /// <see cref="System.Threading.Channels.ChannelClosedException"/> on a closed channel; WaitToWriteAsync waits until
    /// a send could proceed without giving anything, so an unbuffered channel stays a rendezvous; TryComplete(error)
    /// closes the channel (Weft receivers then see ok = false; adapter readers see the error, if one is given).
    /// </remarks>
    /// <exception cref="InvalidOperationException">The channel is a receive-only timer channel.</exception>
    /// <example><code>ChannelWriter&lt;int&gt; w = ch.AsChannelWriter(); await w.WriteAsync(1); w.Complete();</code></example>
    public System.Threading.Channels.ChannelWriter<T> AsChannelWriter()
    {
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        return _writer ?? Interlocked.CompareExchange(ref _writer, new ChanWriter<T>(this), null) ?? _writer!;
    }
}
