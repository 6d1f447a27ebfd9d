// Chan<T>, receiving: the locked core shared by every receive form (async, ok-flag, blocking, Try, select case).

using System.Runtime.CompilerServices;
using Weft.Channels;
using Weft.Runtime;

namespace Weft;

public sealed partial class Chan<T>
{
    /// <summary>
    /// Receives a value, waiting while none is available. On a closed and drained channel it returns
    /// <c>default</c> at once (Go's <c>v := &lt;-ch</c>); use <see cref="ReceiveOkAsync"/> to tell the two apart.
    /// </summary>
    /// <param name="cancellationToken">Gives up the receive; a cancelled receive never consumed a value.</param>
    /// <returns>The value, or <c>default</c> if the channel is closed and drained.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before a value arrived (thrown when awaited). A token already cancelled at the call wins even over a ready value: nothing is received (as in System.Threading.Channels).</exception>
    /// <remarks>Allocates nothing in steady state when <paramref name="cancellationToken"/> cannot be cancelled.</remarks>
    /// <example><code>int v = await ch.ReceiveAsync();</code></example>
#pragma warning disable CS8619 // the body builds ValueTask<T>: the declared T? only tells callers that a closed channel gives default
    public ValueTask<T?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        // Kept apart from ReadForAdapterAsync for the reason given at SendAsync.
        CheckBubble();
        if (!cancellationToken.CanBeCanceled)
        {
            if (ReceiveLooksBlocked() && Goroutine.Current is { CanDefer: true } g)
            {
                var d = ChanWaiter<T>.RentDeferred(this, isSend: false, g);
                return new ValueTask<T>(d, d.Version);
            }
        }
        else if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<T>(cancellationToken);
        _lock.EnterYielding();
        AssertInvariants();
        if (TryReceiveLocked(out T value, out _, out var wake))
        {
            _lock.Exit();
            WakeAll(wake);
            return new ValueTask<T>(value);
        }
        var w = Park(adapter: false, cancellationToken);
        return new ValueTask<T>(w, w.Version);
    }
#pragma warning restore CS8619

    /// <summary>
    /// Receives a value and whether it came from a send (Go's <c>v, ok := &lt;-ch</c>): ok is false only when the
    /// channel is closed and drained, and then the value is <c>default</c>.
    /// </summary>
    /// <param name="cancellationToken">Gives up the receive; a cancelled receive never consumed a value.</param>
    /// <returns>The value and the ok flag.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before a value arrived (thrown when awaited). A token already cancelled at the call wins even over a ready value: nothing is received (as in System.Threading.Channels).</exception>
    /// <example><code>var (v, ok) = await ch.ReceiveOkAsync(); if (!ok) return;</code></example>
#pragma warning disable CS8619 // the body builds ValueTask<T>: the declared T? only tells callers that a closed channel gives default
    public ValueTask<(T? Value, bool Ok)> ReceiveOkAsync(CancellationToken cancellationToken = default)
    {
        // The same paths as ReceiveAsync, with the ok flag: a goroutine's blocked receive parks with a commit.
        CheckBubble();
        if (!cancellationToken.CanBeCanceled)
        {
            if (ReceiveLooksBlocked() && Goroutine.Current is { CanDefer: true } g)
            {
                var d = ChanWaiter<T>.RentDeferred(this, isSend: false, g);
                return new ValueTask<(T, bool)>(d, d.Version);
            }
        }
        else if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<(T, bool)>(cancellationToken);
        _lock.EnterYielding();
        AssertInvariants();
        if (TryReceiveLocked(out T value, out bool ok, out var wake))
        {
            _lock.Exit();
            WakeAll(wake);
            return new ValueTask<(T, bool)>((value, ok));
        }
        var w = Park(adapter: false, cancellationToken);
        return new ValueTask<(T, bool)>(w, w.Version);
    }
#pragma warning restore CS8619

    /// <summary>True when a receive could not complete now, as far as a racy look can tell (the lock, or a deferred wait's commit, looks again).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ReceiveLooksBlocked() => _sendq.IsEmpty && Volatile.Read(ref _count) == 0 && !Volatile.Read(ref _closed)
        && (_transport is null || !_transport.LooksReadable);

    /// <summary>Parks a receiver; called with the lock held, returns with it released.</summary>
    private ChanWaiter<T> Park(bool adapter, CancellationToken cancellationToken)
    {
        var w = ChanWaiter<T>.Rent(this, isSend: false, cancellationToken, adapter);
        var ready = EnqueueLocked(w, isSend: false);
        _lock.Exit();
        WakeAll(ready);
        w.Arm();
        return w;
    }

    /// <summary>Receives a value, blocking the calling thread while none is available; <c>default</c> once closed and drained.</summary>
    /// <param name="cancellationToken">Gives up the receive; a cancelled receive never consumed a value.</param>
    /// <returns>The value, or <c>default</c> if the channel is closed and drained.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before a value arrived. A token already cancelled at the call wins even over a ready value: nothing is received (as in System.Threading.Channels).</exception>
    /// <example><code>int v = ch.Receive();</code></example>
    public T? Receive(CancellationToken cancellationToken = default) => Receive(out _, cancellationToken);

    /// <summary>Receives a value and the ok flag, blocking the calling thread while none is available.</summary>
    /// <param name="ok">False only when the channel is closed and drained.</param>
    /// <param name="cancellationToken">Gives up the receive; a cancelled receive never consumed a value.</param>
    /// <returns>The value, or <c>default</c> when <paramref name="ok"/> is false.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before a value arrived. A token already cancelled at the call wins even over a ready value: nothing is received (as in System.Threading.Channels).</exception>
    /// <example><code>while (true) { var v = ch.Receive(out bool ok); if (!ok) break; Use(v); }</code></example>
    /// <remarks>Parks the thread as <see cref="Send"/> does: no Task, no ThreadPool hop, nothing allocated in steady state.</remarks>
    public T? Receive(out bool ok, CancellationToken cancellationToken = default)
    {
        CheckBubble();
        cancellationToken.ThrowIfCancellationRequested();
        _lock.EnterYielding();
        AssertInvariants();
        if (TryReceiveLocked(out T value, out ok, out var wake))
        {
            _lock.Exit();
            WakeAll(wake);
            return value;
        }
        return ParkBlocking(isSend: false, default!).Wait(cancellationToken, out ok);
    }

    /// <summary>Receives a value if one is available now.</summary>
    /// <param name="value">The value, or <c>default</c>.</param>
    /// <returns>True if a value was received; false if none was ready or the channel is closed and drained.</returns>
    /// <example><code>while (ch.TryReceive(out var v)) Use(v);</code></example>
    public bool TryReceive([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => TryReceive(out value, out bool ok) && ok;

    /// <summary>
    /// Completes a receive if it can complete now (Go's select with one receive case and a default): either a value
    /// is available, or the channel is closed and drained (then <paramref name="ok"/> is false).
    /// </summary>
    /// <param name="value">The value, or <c>default</c>.</param>
    /// <param name="ok">True for a value, false for closed and drained.</param>
    /// <returns>False if the receive would have had to wait.</returns>
    /// <example><code>if (ch.TryReceive(out var v, out bool ok) &amp;&amp; !ok) Console.WriteLine("closed");</code></example>
    public bool TryReceive(out T? value, out bool ok)
    {
        CheckBubble();
        _lock.EnterYielding();
        AssertInvariants();
        bool done = TryReceiveLocked(out value, out ok, out var wake);
        _lock.Exit();
        WakeAll(wake);
        return done;
    }

    /// <summary>
    /// The receive fast path, under the lock: from the first claimable parked sender (directly, or through the ring
    /// so FIFO order holds), else from the ring, else (default, false) if closed. <paramref name="wake"/> is the
    /// sender to resume after the lock is released.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryReceiveLocked(out T value, out bool ok, out Sudog? wake)
    {
        var s = _sendq.Dequeue(); // a plain sender's claim is the dequeue itself (see TrySendLocked)
        if (s?.Select is { } sel && !sel.TryClaim(s.CaseIndex)) s = _sendq.DequeueClaimed();
        if (s is not null)
        {
            if (_ring.Length == 0)
            {
                value = s.Value;
            }
            else
            {
                // The ring is full (senders park only then): take its head, and the sender's value becomes the
                // new tail, which is the same slot.
                value = _ring[_head];
                _ring[_head] = s.Value;
                Advance();
            }
            s.Ok = true;
            wake = s;
            ok = true;
            return true;
        }
        wake = null;
        if (_count > 0)
        {
            value = _ring[_head];
            _ring[_head] = default!;
            Advance();
            Volatile.Write(ref _count, _count - 1);
            if (_adapted) wake = AfterRingTakeLocked();
            ok = true;
            return true;
        }
        if (_transport is not null) return TakeFromTransportLocked(out value, out ok, out wake);
        value = default!;
        ok = false;
        return _closed;
    }
}
