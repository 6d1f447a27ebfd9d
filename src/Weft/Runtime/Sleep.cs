// Sleep — the waiter behind Go.Sleep: a timer-heap entry that is also the IValueTaskSource the goroutine awaits.
//
// Uncancellable sleeps (the common case) use pooled nodes (Runtime/NodePool.cs): at most 256 per thread, so a goroutine
// that sleeps in a loop allocates nothing in steady state. A node returns to the pool in GetResult, after which
// the awaiter holds only a stale token (the version check rejects it). A sleep with a cancellable token gets a
// fresh node (STYLE 10): its registration's callback may run at any time, and a pooled node could by then serve a
// different sleeper.
// Cancellation races the timer: both try to claim the node by CAS on _state; the loser does nothing. A sleep
// cancelled before its deadline completes with OperationCanceledException and leaves no entry in the heap.

using System.Threading.Tasks.Sources;

namespace Weft.Runtime;

internal sealed class SleepNode : TimerNode, IValueTaskSource, IParkSource
{
    private const int Pending = 0, Fired = 1, Cancelled = 2;
    private const int PoolLimit = 256;

    private Continuation _continuation;
    private short _version;
    private int _state;
    private bool _pooled;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    ref Continuation IParkSource.Continuation => ref _continuation;

    public static ValueTask Start(long when, CancellationToken token)
    {
        SleepNode node;
        if (token.CanBeCanceled)
        {
            node = new SleepNode { _token = token };
        }
        else
        {
            node = NodePool<SleepNode>.TryTake() ?? new SleepNode();
            node._pooled = true;
        }
        short version = node._version;
        node._continuation.SetOwner(Goroutine.Current);
        if (when != Clock.Never) Scheduler.AddTimer(node, when);
        if (token.CanBeCanceled)
        {
            node._registration = token.UnsafeRegister(static (o, ct) => ((SleepNode)o!).Cancel(), node);
        }
        return new ValueTask(node, version);
    }

    internal override void Fire(long now)
    {
        if (Interlocked.CompareExchange(ref _state, Fired, Pending) != Pending) return;
        _continuation.Signal(this);
    }

    private void Cancel()
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Pending) != Pending) return;
        Heap?.Remove(this);
        _continuation.Signal(this);
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        Validate(token);
        if (!_continuation.IsSignalled) return ValueTaskSourceStatus.Pending;
        return Volatile.Read(ref _state) == Cancelled ? ValueTaskSourceStatus.Canceled : ValueTaskSourceStatus.Succeeded;
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        Validate(token);
        _continuation.OnCompleted(continuation, state, flags, WaitReason.Sleep, this);
    }

    public void GetResult(short token)
    {
        Validate(token);
        if (!_continuation.IsSignalled)
            throw new InvalidOperationException("Go.Sleep's ValueTask was read before it completed; await it (or call AsTask()) instead of blocking on it.");
        bool cancelled = Volatile.Read(ref _state) == Cancelled;
        var ct = _token;
        if (!_pooled)
        {
            _registration.Dispose();
            _version++;
        }
        else
        {
            _version++;
            _state = Pending;
            _continuation.Reset();
            NodePool<SleepNode>.Return(this, PoolLimit);
        }
        if (cancelled) throw new OperationCanceledException(ct);
    }

    private void Validate(short token)
    {
        if (token != _version)
            throw new InvalidOperationException("This ValueTask from Go.Sleep was already awaited; a ValueTask may be awaited only once.");
    }
}
