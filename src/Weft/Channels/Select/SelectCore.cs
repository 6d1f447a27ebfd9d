// SelectCore — the shared state of one blocked select: the "done" word every case node points at, and the
// IValueTaskSource<int> the select's owner awaits.
//
// _done: 0 while undecided; i + 1 once case i won; Cancelled once the token won. Claimed by CAS (Sudog.TryClaim,
// the timeout timer, the cancellation callback): exactly one claimant per wait. The claimant writes the case's
// result before Signal; Continuation orders that write before the owner reads it.
//
// Reuse: one core serves every wait of its Select, including cancellable ones. That is safe (unlike a pooled
// ChanWaiter) because the owner, in GetResult, first dequeues every node and disposes the token registration —
// CancellationTokenRegistration.Dispose waits for a callback that is already running — so nothing can touch the
// core any more when the next wait resets it.
//
// Blocking waits (Select.Wait) park the owner's thread on its Parker instead: Prepare records the parker,
// Signal unparks it rather than completing the Continuation, and the owner ends the wait with FinishBlocking.
// _parker is written by the owner before any node is enqueued (under the channel locks, so every claimant sees
// it) and is not changed again until the next Prepare, which comes after the single Signal of this wait.

using System.Threading.Tasks.Sources;
using Weft.Runtime;

namespace Weft.Channels;

internal sealed class SelectCore : ParkNode, IValueTaskSource<int>, IParkSource
{
    internal const int Cancelled = -1;
    // No claim may win: a deferred wait not yet committed (its done word opens only under every source's lock, where
    // no claimant of an earlier wait's node can still be between dequeuing that node and its CAS), or a committed
    // park that a poster took back (TryReclaim).
    private const int Shut = -2;

    // A committed park's owner (Runtime/Park.cs): written under every source's lock by the commit, before any node
    // is queued; cleared by the one party that decides the wait (the claimant in Signal, or a poster's reclaim).
    private Goroutine? _committed;

    // The owner goroutine's spare channel node (Goroutine.Spare), held while the select is its deferred park, which
    // takes the goroutine's one slot: given back when the owner's step finishes the wait, so a loop that alternates a
    // select with plain sends and receives keeps reusing one node instead of cycling it through the thread's pool.
    private ParkNode? _heldSpare;

    private readonly Select _owner;
    private Continuation _continuation;
    private int _done;      // CAS by claimants; see above
    private short _version;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;
    private Parker? _parker; // the blocked owner's thread, for Select.Wait; null for WaitAsync

    ref Continuation IParkSource.Continuation => ref _continuation;

    public SelectCore(Select owner) => _owner = owner;

    public short Version => _version;

    /// <summary>Starts a wait: called by the owner before enqueuing any node. <paramref name="parker"/> is set for a blocking wait.</summary>
    /// <remarks>
    /// Called under every source's lock: a claimant that dequeued a node of the previous wait holds one of those locks
    /// from its dequeue to its CAS, so it cannot see this reset and win a wait its node is not part of.
    /// </remarks>
    public void Prepare(Parker? parker)
    {
        _parker = parker;
        // No owner (Reset clears it): a wait queued at once is never its goroutine's deferred park, which is all the
        // owner is read for (OnCompleted, End); an awaiting goroutine is found from its context when it awaits.
        _continuation.Reset();
        Volatile.Write(ref _done, 0);
    }

    /// <summary>
    /// Starts a deferred wait (Runtime/Park.cs), outside every lock: the done word stays shut (no claim can win)
    /// until the commit reopens it under the locks (<see cref="Reopen"/>); see <see cref="Prepare"/> for why.
    /// </summary>
    public void PrepareDeferred(Goroutine owner)
    {
        _parker = null;
        _continuation.Reset();
        _continuation.SetOwner(owner);
        Volatile.Write(ref _done, Shut);
    }

    /// <summary>Called by the owner after the channel locks are released; may cancel at once.</summary>
    public void Arm(CancellationToken token)
    {
        _token = token;
        if (token.CanBeCanceled)
            _registration = token.UnsafeRegister(static o => ((SelectCore)o!).Cancel(), this);
    }

    /// <summary>Claims the select for case <paramref name="index"/>; false if another case (or the token) won first.</summary>
    public bool TryClaim(int index)
    {
        ModelPoint.Here();
        return Interlocked.CompareExchange(ref _done, index + 1, 0) == 0;
    }

    /// <summary>True once a case (or the token) won this wait: its other nodes are losers. Read racily, under a channel lock.</summary>
    public bool IsDecided => Volatile.Read(ref _done) != 0;

    /// <summary>Resumes the owner. Called once per wait, by the claimant, outside every channel lock.</summary>
    public void Signal()
    {
        ModelPoint.Here();
        if (_committed is { } owner)
        {
            // A committed park: the claim made us its only completer, after its owner parked (Runtime/Park.cs).
            _committed = null;
            _continuation.MarkCompleted();
            Scheduler.ReadyCommitted(owner);
            return;
        }
        if (_parker is { } p) p.Unpark();
        else _continuation.Signal();
    }

    // ---- Deferred waits (Runtime/Park.cs; the select's side is Select.CommitDeferred) ------------------------------

    /// <summary>The owner, deferring this wait: keeps its spare node until the wait ends (see _heldSpare).</summary>
    internal void HoldSpare(Goroutine owner)
    {
        if (owner.Spare is { } spare)
        {
            owner.DropSpare();
            _heldSpare = spare;
        }
    }

    /// <summary>Under every source's lock, after stale nodes left: the wait is undecided again.</summary>
    internal void Reopen() => Volatile.Write(ref _done, 0);

    /// <summary>Under every source's lock, with no node queued: case <paramref name="index"/> completed during the commit.</summary>
    internal void Decide(int index) => Volatile.Write(ref _done, index + 1);

    /// <summary>Under every source's lock, before the nodes are queued: a claimant readies <paramref name="owner"/> directly (null: a loose commit).</summary>
    internal void CommitTo(Goroutine? owner) => _committed = owner;

    /// <summary>Under the anchor source's lock: a poster takes back <paramref name="owner"/>'s committed park, if no case won first.</summary>
    internal bool TryReclaim(Goroutine owner)
    {
        ModelPoint.Here();
        if (!ReferenceEquals(_committed, owner) || Interlocked.CompareExchange(ref _done, Shut, 0) != 0) return false;
        _committed = null;
        return true;
    }

    internal override ParkOutcome CommitPark(Goroutine owner)
    {
        var outcome = _owner.CommitDeferred(owner);
        if (outcome == ParkOutcome.Completed) _continuation.MarkCompleted();
        return outcome;
    }

    internal override void CommitLoose()
    {
        if (_owner.CommitDeferred(null) == ParkOutcome.Completed) _continuation.Signal();
    }

    internal override bool TryUncommit(Goroutine owner) => _owner.TryUncommit(owner);

    private void Cancel()
    {
        if (Interlocked.CompareExchange(ref _done, Cancelled, 0) == 0) Signal();
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        return _continuation.IsSignalled ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Pending;
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        _continuation.OnCompleted(continuation, state, flags, WaitReason.Select, this);
        if (!_continuation.IsPrimary && _continuation.Owner is { } owner && owner.IsDeferred(this)
            && ReferenceEquals(SynchronizationContext.Current, owner))
        {
            // Awaited by its owner's step some other way (AsTask, WhenAll): commit now (see ChanWaiter.OnCompleted).
            owner.CommitDeferredNow(this);
        }
    }

    public int GetResult(short token)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        if (!_continuation.IsSignalled) ThrowHelper.NotCompleted();
        _version++;
        return End();
    }

    /// <summary>The owner of a blocking wait, once its thread was unparked: like GetResult, with no ValueTask to check.</summary>
    public int FinishBlocking() => End();

    private int End()
    {
        if (_heldSpare is { } spare)
        {
            // GetResult of a primary wait runs in its owner's step, so the owner's spare slot is ours to refill.
            _heldSpare = null;
            if (!(_continuation.IsPrimary && _continuation.Owner!.TryStashSpare(spare))) spare.ReturnToPool();
        }
        _registration.Dispose(); // waits for a running Cancel; see Reuse above
        _registration = default;
        int done = Volatile.Read(ref _done);
        return _owner.Finish(done == Cancelled ? Cancelled : done - 1, _token);
    }
}
