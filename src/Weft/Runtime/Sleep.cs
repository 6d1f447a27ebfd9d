// Sleep — the wait behind Go.Sleep: a ParkNode that owns a timer-heap entry, and the IValueTaskSource the sleeper awaits.
//
// A goroutine's sleep parks with a commit (Park.cs), like a channel receive, cancellable or not. Start records the
// wait as the step's deferred park and adds nothing to any heap; the step ends, and the commit adds the timer (Go's
// time.Sleep resets its timer in gopark's unlock function for the same reason: the timer must not fire before the
// goroutine is parked). The timer that fires then readies the goroutine with plain stores.
//
// Who may resume a parked sleeper, and what decides between them. There is no primitive lock here: the heap's lock
// is the heap's, and a poster's take-back (Park.cs) must not wait for a timer that another M is firing. So the node's
// state word decides, by CAS, among four parties: the commit (the sleeper's own step end), the timer firing, the
// token's callback and a poster's claim.
//
//   Idle        deferred, in no heap (after Start, or after a claim-back: the wait is the step's deferred park again).
//   Committing  the commit runs: it looked for mail, read the clock, and may have added the timer.
//   Armed       committed and parked: the timer is in a heap (unless the deadline is Never).
//   Claimed     a poster came while Committing: the commit must not park; it takes its timer back and runs the mail.
//   Waiting     an ordinary wait (outside goroutines, or a step's second wait): in a heap, resumed by a post.
//   Fired, Cancelled   final for this wait; GetResult reads which.
//
//   commit   CAS Idle -> Committing (fails only on Cancelled: Completed). Mail? -> Idle (Mail). Deadline passed? ->
//            Fired, and the commit readies its own goroutine at the back of the global queue (Parked: see Requeue).
//            Else add the timer, then CAS Committing -> Armed (Parked; the step touches nothing after it). If that
//            CAS finds Fired, the wait is over (requeued the same way); Cancelled: Completed; if Claimed (or Cancelled),
//            it takes the timer back: removed -> Idle (Mail) or Completed (cancelled); already popped by a firing M ->
//            Claimed -> Armed (Parked: that Fire, on its way, readies the goroutine, and the mail runs then).
//   Fire     Waiting -> Fired: Signal (a post). Armed -> Fired: CompleteCommitted. Committing or Claimed -> Fired:
//            nothing more, the commit sees it.
//   cancel   Idle, Committing or Claimed -> Cancelled: the commit or the loose commit sees it. Armed -> Cancelled:
//            remove the timer, CompleteCommitted. Waiting -> Cancelled: remove the timer, Signal.
//   poster   Committing -> Claimed: false (the commit will not park). Armed: take the timer out of its heap (no
//            timer: nothing to take); removed, then Armed -> Idle: true (the post readies the goroutine, whose next
//            step commits again). Not removed: a firing M popped it, and its Fire, or the token, readies the
//            goroutine: false. Anything else: false.
//
// Invariants
//   * Once a heap has popped a node, its state stays among Committing, Armed, Claimed and Waiting until that Fire's
//     CAS (a poster claims an Armed node only by removing it from the heap first; a commit that finds its timer popped
//     parks rather than hand the wait back), or a cancellation ends it. So a Fire never acts on a later wait of a
//     pooled node, and nobody waits for a Fire in flight.
//   * Exactly one party resumes each wait: the one whose CAS made it Fired or Cancelled, or the poster whose claim
//     made it Idle (that one only hands the wait back to the step's commit).
//   * The commit's first CAS is a full fence after the step stored RunParkedOnChan: the Dekker pair with Deliver's.
//   Model-checked against the timer, a cancellation and a post: tests/Weft.ModelCheck/SleepModelTests.cs.
//
// Pooling: an uncancellable sleep's node (with its timer entry) comes from NodePool and goes back in GetResult, after
// which the awaiter holds only a stale token (the version check rejects it). A cancellable sleep gets a fresh node
// (STYLE 10): its token's callback may run at any time, and a pooled node could by then serve another sleeper.
//
// Rejected: making every TimerNode a ParkNode (every timer channel and ticker would carry wait-queue links it never
// uses); adding the timer at Start, as before, with the owned protocol (a third way to park, under the mailbox lock);
// using the heap's lock as the commit's lock (the commit would have to look for mail under another part's lock, and
// the poster would wait on a heap that a firing M holds).

using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Weft.Runtime;

internal sealed class SleepNode : ParkNode, IValueTaskSource, IParkSource
{
    internal const int Idle = 0, Committing = 1, Armed = 2, Claimed = 3, Waiting = 4, Fired = 5, Cancelled = 6;
    private const int PoolLimit = 256;

    /// <summary>The heap entry: the sleep's timer, one per node for the node's life.</summary>
    private sealed class SleepTimer(SleepNode sleep) : TimerNode
    {
        internal override void Fire(long now) => sleep.Fire();
    }

    private readonly SleepTimer _timer;
    private Continuation _continuation;
    private long _deadline; // Clock ticks, or Clock.Never; written by the sleeper before the wait is visible
    private short _version;
    private int _state;
    private bool _pooled;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    private SleepNode() => _timer = new SleepTimer(this);

    ref Continuation IParkSource.Continuation => ref _continuation;

    /// <summary>The state word, for tests and the model checks.</summary>
    internal int State => Volatile.Read(ref _state);

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
        var g = Goroutine.Current;
        node._deadline = when;
        node._continuation.SetOwner(g);
        if (g is { CanDefer: true })
        {
            node._state = Idle;
            g.Defer(node); // the step's end commits it (CommitPark), or queues it loose (CommitLoose)
        }
        else
        {
            node._state = Waiting;
            if (when != Clock.Never) Scheduler.AddTimer(node._timer, when);
        }
        if (token.CanBeCanceled)
            node._registration = token.UnsafeRegister(static (o, _) => ((SleepNode)o!).Cancel(), node);
        return new ValueTask(node, version);
    }

    // ---- The commit (the sleeper's step end) -----------------------------------------------------------------------

    internal override ParkOutcome CommitPark(Goroutine owner)
    {
        var outcome = Commit(owner);
        if (outcome == ParkOutcome.Completed) _continuation.MarkCompleted();
        return outcome;
    }

    /// <summary>The step did not park on this sleep: it becomes an ordinary wait (its timer added now, resumed by a post).</summary>
    internal override void CommitLoose()
    {
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            _continuation.Signal(); // cancelled before the commit
            return;
        }
        if (_deadline == Clock.Never) return;
        if (_deadline <= Scheduler.TimerNow())
        {
            if (Interlocked.CompareExchange(ref _state, Fired, Waiting) == Waiting) _continuation.Signal();
            return;
        }
        Scheduler.AddTimer(_timer, _deadline);
    }

    private ParkOutcome Commit(Goroutine owner)
    {
        ModelPoint.Here();
        // Full fence after the step's store of RunParkedOnChan: the Dekker pair with Deliver (Park.cs).
        if (Interlocked.CompareExchange(ref _state, Committing, Idle) != Idle) return ParkOutcome.Completed; // cancelled
        if (owner.HasMail) return Settle(Idle) == Idle ? ParkOutcome.Mail : ParkOutcome.Completed;
        if (_deadline != Clock.Never)
        {
            if (_deadline <= Scheduler.TimerNow())
                return Settle(Fired) == Fired ? Requeue(owner) : ParkOutcome.Completed; // else cancelled meanwhile
            Scheduler.AddTimer(_timer, _deadline);
        }
        ModelPoint.Here();
        int seen = Interlocked.CompareExchange(ref _state, Armed, Committing);
        if (seen == Committing) return ParkOutcome.Parked; // the timer, the token or a poster may resume us now: touch nothing
        if (seen == Fired) return Requeue(owner);          // the timer popped and marked it: nothing is left in a heap
        // Claimed by a poster, or cancelled: the timer goes back out before the wait is handed back or ended.
        if (_deadline == Clock.Never || RemoveTimer()) return Settle(Idle) == Idle ? ParkOutcome.Mail : ParkOutcome.Completed;
        // A firing M popped the timer and its Fire is on the way: park after all, and let that Fire ready us (the
        // poster, refused, counts on a completer; the mail runs in the step the Fire causes). Parking, rather than
        // handing the wait back, is also what keeps that Fire from meeting a later wait of this node (the invariants).
        ModelPoint.Here();
        seen = Interlocked.CompareExchange(ref _state, Armed, Claimed);
        return seen == Claimed ? ParkOutcome.Parked : ParkOutcome.Completed; // Fired or Cancelled meanwhile: over
    }

    /// <summary>
    /// The commit found the sleep over by its deadline (Fired, by the commit or by a timer that popped meanwhile): the
    /// goroutine does not run on in this step but goes to the back of the global queue, as a parked Go sleeper goes
    /// through the scheduler however short its sleep. Without this, a loop of work and tiny sleeps whose deadlines pass
    /// before each commit would keep its processor (and that processor's timers) forever: Weft cannot preempt it.
    /// The state is final, so nobody else resumes this wait; a poster's claim fails and its mail runs in that step.
    /// </summary>
    private ParkOutcome Requeue(Goroutine owner)
    {
        _continuation.MarkCompleted();
        Scheduler.ReadyCommittedYield(owner);
        return ParkOutcome.Parked; // the goroutine may already run elsewhere: touch nothing
    }

    /// <summary>The commit ends its Committing (or Claimed) state as <paramref name="to"/>, unless a cancellation or a Fire ended the wait first; returns the final state.</summary>
    private int Settle(int to)
    {
        while (true)
        {
            int s = Volatile.Read(ref _state);
            if (s is not (Committing or Claimed)) return s;
            ModelPoint.Here();
            if (Interlocked.CompareExchange(ref _state, to, s) == s) return to;
        }
    }

    /// <summary>Takes the timer out of its heap; false if a firing M popped it first (or it was never added).</summary>
    private bool RemoveTimer() => _timer.Heap is { } heap && heap.Remove(_timer);

    // ---- The other parties ---------------------------------------------------------------------------------------

    private void Fire()
    {
        while (true)
        {
            int s = Volatile.Read(ref _state);
            if (s is not (Waiting or Armed or Committing or Claimed)) return; // cancelled
            ModelPoint.Here();
            if (Interlocked.CompareExchange(ref _state, Fired, s) != s) continue;
            if (s == Armed) _continuation.CompleteCommitted();
            else if (s == Waiting) _continuation.Signal();
            return; // Committing or Claimed: the commit sees Fired
        }
    }

    private void Cancel()
    {
        while (true)
        {
            int s = Volatile.Read(ref _state);
            if (s is Fired or Cancelled) return;
            ModelPoint.Here();
            if (Interlocked.CompareExchange(ref _state, Cancelled, s) != s) continue;
            if (s is Armed or Waiting) RemoveTimer(); // if a firing M popped it, its Fire finds Cancelled
            if (s == Armed) _continuation.CompleteCommitted();
            else if (s == Waiting) _continuation.Signal();
            return; // Idle, Committing or Claimed: the commit (or the loose commit) sees Cancelled
        }
    }

    internal override bool TryUncommit(Goroutine owner)
    {
        while (true)
        {
            int s = Volatile.Read(ref _state);
            ModelPoint.Here();
            if (s == Committing)
            {
                if (Interlocked.CompareExchange(ref _state, Claimed, Committing) == Committing) return false;
                continue;
            }
            if (s != Armed) return false;
            if (_deadline != Clock.Never && !RemoveTimer()) return false; // popped: the Fire (or the token) readies the goroutine
            // The timer is out of every heap, so only the token can still race us for the word.
            return Interlocked.CompareExchange(ref _state, Idle, Armed) == Armed;
        }
    }

    // ---- IValueTaskSource -----------------------------------------------------------------------------------------

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
        if (!_continuation.IsPrimary && _continuation.Owner is { } owner && owner.IsDeferred(this)
            && ReferenceEquals(SynchronizationContext.Current, owner))
        {
            // Awaited by its goroutine's step some other way (AsTask, ConfigureAwait(false)): the step will not park
            // on it, so start the timer now rather than when the step ends (as ChanWaiter.OnCompleted does).
            owner.CommitDeferredNow(this);
        }
    }

    public void GetResult(short token)
    {
        Validate(token);
        if (!_continuation.IsSignalled)
            throw new InvalidOperationException("Go.Sleep's ValueTask was read before it completed; await it (or call AsTask()) instead of blocking on it.");
        bool cancelled = Volatile.Read(ref _state) == Cancelled;
        Debug.Assert(cancelled || Volatile.Read(ref _state) == Fired, "A sleep ends fired or cancelled.");
        var ct = _token;
        if (!_pooled)
        {
            _registration.Dispose();
            _version++;
        }
        else
        {
            _version++;
            _state = Idle;
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
