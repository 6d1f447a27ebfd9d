// Waiter — one parked caller of a Weft.Sync primitive (Go's sudog): a ParkNode in the runtime's wait queue.
//
// A waiter is either
//   * async: an IValueTaskSource that a goroutine (or plain async code) awaits. It resumes through Continuation,
//     so waking a goroutine puts it straight into the waker's P without allocating. Uncancellable async waiters are
//     pooled per thread (Runtime/NodePool.cs, at most 256 per thread); a cancellable one is fresh (STYLE 10),
//     because its token's callback may run at any time, and a pooled node could by then serve a different caller.
//   * blocking: one per OS thread (NodePool.ThreadNode), reused for every blocking wait of that thread, parked on the thread's
//     Runtime.Parker (shared with blocking channel operations; it spins briefly, then sleeps on a futex).
//     Inside a goroutine the parker announces the block to the scheduler as Go.Blocking does, so the P is handed
//     to another M at once instead of after sysmon's threshold.
//     A blocking wait may be cancellable too: the per-thread node is safe to reuse because its thread is blocked in
//     that one wait until Return, and Return disposes the registration (waiting out a running callback) first.
//
// Claiming: a waker and a canceller race for a queued waiter by CAS on _status (Waiting -> Woken or Cancelled).
// The loser does nothing. The winner of a wake has already unlinked the node under the owner's queue lock; the
// winner of a cancel unlinks it through IWaitOwner.Cancel, which takes that lock. So a node is signalled exactly
// once per wait, and always after the owner's lock is released (STYLE 9).
//
// A goroutine's uncancellable async wait parks with a commit instead (Runtime/Park.cs), in one of two shapes:
//   * deferred (Mutex, Semaphore): TryDefer records the node as the goroutine's deferred park without queueing it,
//     and the step end commits it through IWaitOwner.CommitPark under the owner's queue lock: the owner grants it
//     then, or queues it Committed. A poster takes it back out of the queue (IWaitOwner.TryUncommit).
//   * queued at the call, detached (RWMutex, WaitGroup, Cond): where the call itself must be visible at once (Cond
//     queues before it unlocks L, so no Signal is lost; a writer stops new readers from its call on; a WaitGroup
//     waiter is released by the round it registered in), the owner queues the node as usual but Detached, and
//     makes it the goroutine's deferred park (DeferringGoroutine, DeferQueued). A waker that takes a detached node
//     only marks it granted (Handoff, under the lock: TakeForWake) and wakes nobody, since the goroutine is still
//     running or queued; the commit
//     (CommitDetached) then finds the grant and completes, or finds mail (Mail), or marks the node Committed. A
//     poster's claim turns a committed node back into a detached one where it stands (TryDetach), so it keeps its
//     place and any grant that comes while the post runs: to the primitive, the wait never paused.
// Either way a node is Committed only while its goroutine is parked on it and it is in the owner's keeping: the
// waker that takes a committed node readies the goroutine with plain stores (Scheduler.ReadyCommitted) instead of
// Continuation.Signal.
//
// One waiter may serve several waits in a row (a mutex waiter that is woken, loses the race to a newcomer, and
// queues again): Prepare() before each enqueue, the version token advances in GetResult, and the owner returns it
// with Return() when the whole operation is over.

using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Weft.Runtime;

namespace Weft.Sync;

/// <summary>What a primitive does for its waiters: unlink a cancelled one; commit and claim back a goroutine's park.</summary>
internal interface IWaitOwner
{
    /// <summary>Called once, outside every lock, after the waiter was claimed for cancellation.</summary>
    void Cancel(Waiter waiter);

    /// <summary>
    /// The commit of a goroutine's wait (Runtime/Park.cs), under the primitive's queue lock: grant what the waiter
    /// asked for now, or find it granted meanwhile (Completed), or leave it as it is because <paramref name="parked"/>
    /// has mail (Mail), or queue it (deferred) or keep it queued (detached), committed when <paramref name="parked"/>
    /// is not null (Parked). <paramref name="parked"/> is null for a loose commit.
    /// </summary>
    ParkOutcome CommitPark(Waiter waiter, Goroutine? parked);

    /// <summary>A poster takes <paramref name="parked"/>'s committed park back, if no waker took it first (see the file header for where it goes).</summary>
    bool TryUncommit(Waiter waiter, Goroutine parked);
}

internal sealed class Waiter : ParkNode, IValueTaskSource, IParkSource
{
    private const int Waiting = 0, Woken = 1, Cancelled = 2;
    private const int PoolLimit = 256;

    private static readonly Action<object?> s_onCancel = static o => ((Waiter)o!).OnTokenCancelled();

    /// <summary>Tokens asked for (Semaphore), the kind of waiter (RWMutex) or a deferred wait's commit flags (Mutex); written by the waiter before it queues.</summary>
    internal long Weight;

    /// <summary>Timer-clock time (Scheduler.TimerNow) of the first enqueue of this operation (Mutex starvation); written by the waiter.</summary>
    internal long Since;

    /// <summary>The waker gave the waiter what it waited for (the mutex itself, say); written before the wake, read after.</summary>
    internal bool Handoff;

    /// <summary>Queued as its goroutine's committed park (Runtime/Park.cs): set under the owner's queue lock, cleared by the waker that dequeued it or by a poster's claim.</summary>
    internal bool Committed;

    /// <summary>Queued at the call as its goroutine's deferred park, not committed (see the file header); guarded by the owner's queue lock.</summary>
    internal bool Detached;

    private int _status;
    private Continuation _continuation;
    private short _version;
    private readonly bool _blocking;
    private bool _pooled;
    private Parker? _parker; // blocking waiters only: the owning thread's
    private WaitReason _reason;
    private IWaitOwner? _owner;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;
    private bool _registered;
    private bool _oneShot;

    ref Continuation IParkSource.Continuation => ref _continuation;

    private Waiter(bool blocking) => _blocking = blocking;

    /// <summary>A waiter for an async wait: pooled unless <paramref name="token"/> can be cancelled.</summary>
    internal static Waiter RentAsync(IWaitOwner owner, WaitReason reason, CancellationToken token)
    {
        Waiter w;
        if (token.CanBeCanceled)
        {
            w = new Waiter(blocking: false) { _token = token };
        }
        else
        {
            w = NodePool<Waiter>.TryTake() ?? new Waiter(blocking: false);
            w._pooled = true;
        }
        w._owner = owner;
        w._reason = reason;
        return w;
    }

    /// <summary>This thread's blocking waiter. A thread blocks in one wait at a time, so one node per thread is enough.</summary>
    internal static Waiter RentBlocking(IWaitOwner owner, WaitReason reason, CancellationToken token)
    {
        var w = NodePool<Waiter>.ThreadNode ?? (NodePool<Waiter>.ThreadNode = new Waiter(blocking: true) { _parker = Parker.Current });
        Debug.Assert(w._owner is null && !w._registered, "A thread's blocking waiter serves one wait at a time and was returned after the last one.");
        w._owner = owner;
        w._reason = reason;
        w._token = token;
        return w;
    }

    /// <summary>
    /// Readies the node for one more enqueue (status Waiting). Call before linking it, while no waker can see it; for
    /// a node whose token is already armed (a mutex waiter queuing again) call it under the queue lock, right before
    /// the link, so a cancellation never claims a node that is in no queue.
    /// </summary>
    internal void Prepare()
    {
        Debug.Assert(!Queued, "A waiter is prepared only while it is in no queue.");
        Handoff = false;
        Detached = false;
        _status = Waiting;
        if (!_blocking) _continuation.SetOwner(Goroutine.Current);
    }

    /// <summary>
    /// An uncancellable async wait called in a goroutine that has no deferred wait this step: prepares the node and
    /// records it as the goroutine's deferred park, which the step end commits under the owner's queue lock
    /// (<see cref="IWaitOwner.CommitPark"/>). False otherwise: the caller queues the node now. Call instead of the
    /// owner's queue-now path, then await <see cref="Task"/>.
    /// </summary>
    internal bool TryDefer()
    {
        if (_blocking || _token.CanBeCanceled || Goroutine.Current is not { CanDefer: true } g) return false;
        Prepare();
        g.Defer(this);
        return true;
    }

    /// <summary>
    /// For an owner that queues at the call (see the file header): the goroutine whose step will park on this wait
    /// with a commit, or null (a blocking or cancellable wait, code outside goroutines, or a step that already has a
    /// deferred wait: the node is then an ordinary waiter). Call after <see cref="Prepare"/>; the owner sets
    /// <see cref="Detached"/> to whether it is not null when it queues the node, and after the unlock calls <see cref="DeferQueued"/>.
    /// </summary>
    internal Goroutine? DeferringGoroutine() =>
        _blocking || _token.CanBeCanceled || Goroutine.Current is not { CanDefer: true } g ? null : g;

    /// <summary>
    /// After the node was queued Detached and the owner's lock released: records it as <paramref name="g"/>'s deferred
    /// park. If the step meanwhile started another deferred wait (only a user's ILocker.Unlock, run by Cond between
    /// the two, could), the node is committed loose instead.
    /// </summary>
    internal void DeferQueued(Goroutine g)
    {
        if (g.CanDefer) g.Defer(this);
        else CommitLoose();
    }

    /// <summary>
    /// The commit of a node queued at the call (<see cref="DeferQueued"/>), under the owner's queue lock: Completed
    /// if a waker granted it meanwhile; Mail if <paramref name="parked"/> has mail (it stays detached, in place);
    /// else it is committed to <paramref name="parked"/> (Parked), or, for a loose commit (null), becomes an ordinary waiter.
    /// </summary>
    internal ParkOutcome CommitDetached(Goroutine? parked)
    {
        if (Handoff) return ParkOutcome.Completed;
        Debug.Assert(Detached, "A node queued at the call stays detached until it is granted or committed.");
        if (parked is not null && parked.HasMail) return ParkOutcome.Mail;
        Detached = false;
        Committed = parked is not null;
        return ParkOutcome.Parked;
    }

    /// <summary>
    /// A poster's claim, under the owner's queue lock: turns <paramref name="parked"/>'s committed park back into a
    /// detached one where it stands, if <paramref name="held"/> (the owner still keeps it: no waker took it).
    /// </summary>
    internal bool TryDetach(Goroutine parked, IWaitOwner owner, bool held)
    {
        if (!held || !Committed || !ReferenceEquals(_continuation.Owner, parked) || !ReferenceEquals(Volatile.Read(ref _owner), owner)) return false;
        Committed = false;
        Detached = true;
        return true;
    }

    /// <summary>
    /// The waker, under the owner's queue lock, with the node claimed and taken out of the owner's keeping: true if it
    /// must be woken after the unlock (Wake); false for a detached node, which is marked granted for its commit instead.
    /// </summary>
    internal bool TakeForWake()
    {
        if (!Detached) return true;
        Detached = false;
        Handoff = true;
        return false;
    }

    /// <summary>Under the owner's queue lock, for a poster's claim: whether this node is a committed park of <paramref name="g"/> queued on <paramref name="owner"/>.</summary>
    internal bool IsCommittedParkOf(Goroutine g, IWaitOwner owner) =>
        Queued && Committed && ReferenceEquals(_continuation.Owner, g) && ReferenceEquals(Volatile.Read(ref _owner), owner);

    internal override ParkOutcome CommitPark(Goroutine owner)
    {
        var outcome = _owner!.CommitPark(this, owner);
        if (outcome == ParkOutcome.Completed) _continuation.MarkCompleted();
        return outcome;
    }

    internal override void CommitLoose()
    {
        if (_owner!.CommitPark(this, null) == ParkOutcome.Completed) _continuation.Signal();
    }

    internal override bool TryUncommit(Goroutine owner) => Volatile.Read(ref _owner) is { } o && o.TryUncommit(this, owner);

    /// <summary>The waker, under the owner's queue lock: claims the node. False if a canceller got there first.</summary>
    internal bool TryClaim() => Interlocked.CompareExchange(ref _status, Woken, Waiting) == Waiting;

    /// <summary>The waker, after releasing the owner's lock: resumes the claimed waiter.</summary>
    internal void Wake()
    {
        Debug.Assert(Volatile.Read(ref _status) == Woken, "Only a claimed waiter is woken.");
        ModelPoint.Here(); // Committed is read after the owner's unlock: a poster's claim (under the lock) must have failed
        if (Committed)
        {
            // A committed park: dequeuing it under the owner's lock made us its only waker, after its goroutine parked.
            Committed = false;
            _continuation.CompleteCommitted();
            return;
        }
        Signal();
    }

    private void Signal()
    {
        if (_blocking) _parker!.Unpark();
        else _continuation.Signal();
    }

    /// <summary>
    /// The waiter, right after it queued (outside the lock): arms cancellation. Registering the first time runs the
    /// callback at once if the token is already cancelled; on a later enqueue of the same operation the token is
    /// checked directly, since the callback may have fired while the node was claimed and so done nothing.
    /// </summary>
    internal void ArmCancellation()
    {
        if (!_token.CanBeCanceled) return;
        if (!_registered)
        {
            _registered = true;
            _registration = _token.UnsafeRegister(s_onCancel, this);
        }
        else if (_token.IsCancellationRequested)
        {
            OnTokenCancelled();
        }
    }

    private void OnTokenCancelled()
    {
        if (Interlocked.CompareExchange(ref _status, Cancelled, Waiting) != Waiting) return;
        _owner!.Cancel(this);
        Signal();
    }

    /// <summary>The awaitable for the current wait; the operation continues after it (call <see cref="Return"/> at the end).</summary>
    internal ValueTask Task => new(this, _version);

    /// <summary>The awaitable for an operation that is a single wait: GetResult returns the node, so no async method is needed.</summary>
    internal ValueTask WaitOnce()
    {
        _oneShot = true;
        return new ValueTask(this, _version);
    }

    /// <summary>
    /// Arms cancellation, then blocks the calling thread until the node is woken or cancelled (blocking waiters only).
    /// Call right after the node was queued, outside the owner's lock.
    /// </summary>
    /// <returns>True if woken; false if the token claimed the node (the owner's Cancel has then already run).</returns>
    internal bool Block()
    {
        Debug.Assert(_blocking, "Only a blocking waiter blocks its thread.");
        ArmCancellation();
        _parker!.Park(_reason);
        return Volatile.Read(ref _status) != Cancelled;
    }

    /// <summary>
    /// A waker claimed this node for a wait its owner is abandoning (Cond.Wait whose Unlock threw): a blocking node
    /// waits for the wake-up to land, so it cannot leak into the thread's next wait, and is returned; an async node
    /// is dropped, not pooled, since its continuation is signalled with nobody awaiting it.
    /// </summary>
    internal void AbsorbWake()
    {
        Debug.Assert(Volatile.Read(ref _status) == Woken, "Only a claimed node has a wake-up on the way.");
        if (!_blocking) return;
        _parker!.Park(_reason);
        Return();
    }

    /// <summary>The whole operation is over: drop the registration and give a pooled node back.</summary>
    internal void Return()
    {
        _owner = null;
        if (_registered)
        {
            // Waits for a running callback, so nothing touches the node afterwards. A fresh (async) node is then
            // dropped; the thread's blocking node is reused, so it forgets the token.
            _registration.Dispose();
            _registration = default;
            _registered = false;
            if (!_blocking) return;
        }
        if (_blocking)
        {
            _token = default;
            return;
        }
        if (_pooled)
        {
            NodePool<Waiter>.Return(this, PoolLimit);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        Validate(token);
        if (!_continuation.IsSignalled) return ValueTaskSourceStatus.Pending;
        return Volatile.Read(ref _status) == Cancelled ? ValueTaskSourceStatus.Canceled : ValueTaskSourceStatus.Succeeded;
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        Validate(token);
        _continuation.OnCompleted(continuation, state, flags, _reason, this);
        if (!_continuation.IsPrimary && _continuation.Owner is { } owner && owner.IsDeferred(this)
            && ReferenceEquals(SynchronizationContext.Current, owner))
        {
            // Awaited by its goroutine's step some other way (the goroutine already had a park registered): the step
            // will not park on it, so queue it now rather than when the step ends (as ChanWaiter.OnCompleted does).
            owner.CommitDeferredNow(this);
        }
    }

    public void GetResult(short token)
    {
        Validate(token);
        if (!_continuation.IsSignalled)
            throw new InvalidOperationException("A Weft.Sync ValueTask was read before it completed; await it (or call AsTask()) instead of blocking on it.");
        bool cancelled = Volatile.Read(ref _status) == Cancelled;
        var ct = _token;
        _version++;
        _continuation.Reset();
        if (_oneShot)
        {
            _oneShot = false;
            Return();
        }
        if (cancelled) throw new OperationCanceledException(ct);
    }

    private void Validate(short token)
    {
        if (token != _version)
            throw new InvalidOperationException("This Weft.Sync ValueTask was already awaited; a ValueTask may be awaited only once.");
    }
}
