// ChanWaiter — the IValueTaskSource behind a SendAsync/ReceiveAsync that had to wait (a plain, non-select sudog).
//
// Pooling (STYLE 10, Runtime/NodePool.cs): an uncancellable wait takes the channel's one spare node (under the
// channel lock, so free) or else a node from a per-thread free list (at most 64 per type), and gives it back in
// GetResult — to the channel's spare slot if it is empty — after which the awaiter holds only a stale version token. The spare slot
// serves the common one-waiter-per-channel case (ping-pong, pipelines) without touching thread-statics, which
// cost a runtime helper call for a generic type. A cancellable wait gets a
// fresh node: its token's callback may run at any time, and a pooled node could by then serve another waiter.
// A deferred wait (Chan.Defer.cs) takes no channel lock to start, so it cannot take the channel's spare: it takes its
// goroutine's spare (Goroutine.Spare), which GetResult of a primary wait (awaited by its owner, so running in
// the owner's step) fills. Only the goroutine touches that slot, so no lock is needed; it is emptied into the
// thread's pool when the goroutine parks on something else, so parked goroutines hold no spare nodes.
//
// Cancellation race (the guarantee "a value is never both delivered and reported cancelled"):
//   the completer (a counterparty, or Close) and Cancel both remove the node from the channel's queue under the
//   channel's lock. Whoever removes it decides the outcome; the other finds it gone and does nothing. So a cancelled
//   send never delivered its value, and a cancelled receive never consumed one.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Weft.Runtime;

namespace Weft.Channels;

internal sealed class ChanWaiter<T> : Sudog<T>, IValueTaskSource, IValueTaskSource<T>, IValueTaskSource<(T Value, bool Ok)>, IParkSource
{
    private const int PoolLimit = 64;

    // The wait's continuation core. Internal, not private: the channel's own wake path (Chan.WakeAll) completes a
    // node it dequeued through it directly (Continuation.Complete), so a hand-off goes from the channel to the runtime.
    internal Continuation Continuation;
    private short _version;
    // What kind of wait, set by Rent for each wait: one byte rather than three bools, because a parked goroutine's
    // node is most of what it costs beside its own record (the parked workload), and the object's size moves in steps of 8.
    private byte _kind;
    private const byte KindSend = 1;    // else a receive
    private const byte KindAdapter = 2; // a ChanReader/ChanWriter operation: a closed channel is System.Threading.Channels' exception
    private const byte KindPooled = 4;  // goes back to a pool in GetResult (uncancellable waits only)

    private bool IsSend => (_kind & KindSend) != 0;
    private bool IsAdapter => (_kind & KindAdapter) != 0;
    private bool IsPooled => (_kind & KindPooled) != 0;

    private static byte Kind(bool isSend, bool adapter, bool pooled) =>
        (byte)((isSend ? KindSend : 0) | (adapter ? KindAdapter : 0) | (pooled ? KindPooled : 0));

    /// <summary>Queued as its owner goroutine's committed park (Chan.Defer.cs): set under the channel lock, cleared by the completer.</summary>
    internal bool Committed;

    private Chan<T>? _channel;          // for Cancel; set by the owner before the node is published

    // A cancellable wait's token and registration, in an object of their own: only cancellable waits need them, and
    // they are never pooled (they allocate a fresh node anyway), while every parked goroutine's node would carry
    // their 24 bytes as fields. Null for an uncancellable wait, so for every pooled node.
    private CancelState? _cancel;

    private sealed class CancelState(CancellationToken token)
    {
        public readonly CancellationToken Token = token;
        public CancellationTokenRegistration Registration;
    }

    ref Continuation IParkSource.Continuation => ref Continuation;

    /// <summary>Written by Cancel under the channel lock, read by the owner after the wake.</summary>
    internal bool Cancelled;

    /// <summary>Takes a node for one wait. The caller enqueues it under the channel's lock, then calls <see cref="Arm"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ChanWaiter<T> Rent(Chan<T> channel, bool isSend, CancellationToken token, bool adapter = false)
    {
        ChanWaiter<T> w;
        var owner = Goroutine.Current;
        if (!token.CanBeCanceled && NodePool<ChanWaiter<T>>.TakeSpare(ref channel.SpareWaiter) is { } spare)
        {
            // The channel's own spare (taken under its lock): no thread-static access, which for a generic type is
            // a runtime helper call, on the ping-pong path.
            w = spare;
        }
        else if (!token.CanBeCanceled && owner?.Spare is ChanWaiter<T> mine)
        {
            owner.DropSpare(); // the goroutine's own spare (see the pooling note above)
            w = mine;
        }
        else if (!token.CanBeCanceled && NodePool<ChanWaiter<T>>.TryTake() is { } free)
        {
            w = free;
        }
        else
        {
            w = new ChanWaiter<T>();
        }
        w.Prepare(channel, Kind(isSend, adapter, pooled: !token.CanBeCanceled), owner, token);
        return w;
    }

    /// <summary>The per-wait fields both rents set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Prepare(Chan<T> channel, byte kind, Goroutine? owner, CancellationToken token)
    {
        _kind = kind;
        Volatile.Write(ref _channel, channel); // a poster's claim of a committed park reads it unlocked (TryUncommit)
        if (token.CanBeCanceled) _cancel = new CancelState(token);
        Continuation.SetOwner(owner);
    }

    /// <summary>
    /// Takes a node for a deferred wait of <paramref name="owner"/> and records it as the goroutine's deferred wait
    /// (Chan.Defer.cs). No channel lock is held, so not the channel's spare but the goroutine's, else the thread's pool.
    /// The caller has checked <see cref="Goroutine.CanDefer"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ChanWaiter<T> RentDeferred(Chan<T> channel, bool isSend, Goroutine owner)
    {
        if (owner.Spare is ChanWaiter<T> spare)
        {
            // The goroutine's spare still names its owner and its last channel (Finish keeps them for this): on a
            // loop over the same channels, no reference is written (each such store is a GC write barrier).
            spare._kind = Kind(isSend, adapter: false, pooled: true);
            if (!ReferenceEquals(spare._channel, channel)) Volatile.Write(ref spare._channel, channel);
            Debug.Assert(spare._cancel is null, "Only uncancellable waits are pooled.");
            owner.DeferSpare();
            return spare;
        }
        var w = NodePool<ChanWaiter<T>>.TryTake() ?? new ChanWaiter<T>();
        w.Prepare(channel, Kind(isSend, adapter: false, pooled: true), owner, default);
        owner.Defer(w);
        return w;
    }

    public short Version => _version;

    /// <summary>For a poster's claim, under the channel lock: whether this node is a wait of <paramref name="owner"/>.</summary>
    internal bool IsOwnedBy(Goroutine owner) => ReferenceEquals(Continuation.Owner, owner);

    /// <summary>For a poster's claim, under the channel lock: whether this node belongs to <paramref name="channel"/>.</summary>
    internal bool IsOn(Chan<T> channel) => ReferenceEquals(Volatile.Read(ref _channel), channel);

    /// <summary>A goroutine's spare node goes back to this thread's pool when the goroutine parks on something else.</summary>
    internal override void ReturnToPool()
    {
        // A spare keeps its owner and channel (Finish); the pool's nodes hold no references.
        _channel = null;
        Continuation.Reset();
        NodePool<ChanWaiter<T>>.Return(this, PoolLimit);
    }

    internal override ParkOutcome CommitPark(Goroutine owner)
    {
        var outcome = _channel!.CommitDeferred(this, IsSend, owner, out var wake);
        if (outcome == ParkOutcome.Completed) Continuation.MarkCompleted();
        WakeAll(wake);
        return outcome;
    }

    internal override void CommitLoose()
    {
        var outcome = _channel!.CommitDeferred(this, IsSend, null, out var wake);
        if (outcome == ParkOutcome.Completed) Continuation.Signal();
        WakeAll(wake);
    }

    internal override bool TryUncommit(Goroutine owner) => _channel is { } channel && channel.TryUncommit(this, IsSend, owner);

    /// <summary>Called after the channel lock is released: registers for cancellation (which may run Cancel at once).</summary>
    public void Arm()
    {
        if (_cancel is { } c)
            c.Registration = c.Token.UnsafeRegister(static o => ((ChanWaiter<T>)o!).Cancel(), this);
    }

    private void Cancel()
    {
        if (_channel!.RemoveWaiter(this, IsSend))
        {
            Cancelled = true; // the node is ours alone now: it left the queue under the lock, and nobody else claims it
            Continuation.Signal();
        }
    }

    /// <summary>
    /// A wake through the wake list (Sudog.WakeAll); the channel's own paths call Continuation.Complete directly
    /// (Chan.WakeAll). A committed node has the caller as its only completer: it dequeued the node under the
    /// channel lock, after the owner parked.
    /// </summary>
    internal override void Wake() => Continuation.Complete(ref Committed);

    public ValueTaskSourceStatus GetStatus(short token)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        if (!Continuation.IsSignalled) return ValueTaskSourceStatus.Pending;
        if (Cancelled) return ValueTaskSourceStatus.Canceled;
        // A send that found the channel closed faults; a receive on a closed channel succeeds with ok=false.
        // Through an adapter, a receive on a closed channel faults too (ChannelReader.ReadAsync).
        return (IsSend || IsAdapter) && !Ok ? ValueTaskSourceStatus.Faulted : ValueTaskSourceStatus.Succeeded;
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        Continuation.OnCompleted(continuation, state, flags, _channel!.ReasonFor(IsSend), this);
        if (!Continuation.IsPrimary && Continuation.Owner is { } owner && owner.IsDeferred(this)
            && ReferenceEquals(SynchronizationContext.Current, owner))
        {
            // Awaited by its owner's step some other way (AsTask, ConfigureAwait(false), WhenAll): the step will not
            // park on it, so nothing is gained by waiting for the step to end, and code that then blocks the step on
            // the task (sync over async) would wait for a counterparty that cannot see the operation. Queue it now.
            owner.CommitDeferredNow(this);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        bool adapter = IsAdapter;
        var channel = _channel;
        Finish(token, out _, out bool ok);
        if (!ok)
        {
            if (adapter) ThrowHelper.AdapterClosed(channel!);
            ThrowHelper.ChannelClosed();
        }
    }

    T IValueTaskSource<T>.GetResult(short token)
    {
        bool adapter = IsAdapter;
        var channel = _channel;
        Finish(token, out T value, out bool ok);
        if (!ok && adapter) ThrowHelper.AdapterClosed(channel!);
        return value;
    }

    (T Value, bool Ok) IValueTaskSource<(T Value, bool Ok)>.GetResult(short token)
    {
        Finish(token, out T value, out bool ok);
        return (value, ok);
    }

    private void Finish(short token, out T value, out bool ok)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        if (!Continuation.IsSignalled) ThrowHelper.NotCompleted();
        value = Value;
        ok = Ok;
        bool cancelled = Cancelled;
        var cancel = _cancel;
        _version++;
        if (IsPooled)
        {
            Value = default!;
            Ok = false;
            var owner = Continuation.Owner;
            if (Continuation.IsPrimary && owner!.TryStashSpare(this))
            {
                // A primary wait's GetResult runs in its owner's step, so the owner's spare slot is ours to fill: the
                // goroutine's next deferred wait takes it back without a lock (Chan.Defer.cs). It keeps its owner
                // and channel, which RentDeferred then need not write again.
                Continuation.ResetKeepingOwner();
            }
            else
            {
                var channel = _channel;
                _channel = null;
                Continuation.Reset();
                if (channel is null) NodePool<ChanWaiter<T>>.Return(this, PoolLimit);
                else NodePool<ChanWaiter<T>>.Return(this, ref channel.SpareWaiter, PoolLimit);
            }
        }
        else
        {
            cancel?.Registration.Dispose();
        }
        if (cancelled) throw new OperationCanceledException(cancel?.Token ?? default);
    }
}
