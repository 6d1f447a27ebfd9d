// Park — the one way a goroutine blocks on a Weft primitive: park first, then commit (Go's gopark with its unlockf).
// One of the runtime's two protocols; the other, foreign completion posts, is Goroutine.cs's.
//
// A goroutine that must wait for a channel operation, a select, a sleep, or a Weft.Sync primitive does not hand
// its wait to anyone while its step still runs. It records the wait as its deferred park (a ParkNode) and lets the
// step end; then the step's last act, with the goroutine already published as parked, is the node's commit, under
// the primitive's own lock(s) or, for a sleep, its state word:
//
//   1. The operation (SendAsync, ReceiveAsync, Select.WaitAsync, Go.Sleep, LockAsync...) first looks without a lock.
//      If it looks blocked and the goroutine has no other deferred park this step, it returns a pending ValueTask
//      over the node: Goroutine.Defer records it. Channels, select, Mutex and Semaphore do not queue it yet; a sleep
//      does not add its timer yet. RWMutex, WaitGroup and Cond queue it at the call, as they always did, but
//      detached (Sync/Waiter.cs): where the call itself must be visible at once (Cond queues before it unlocks L;
//      a writer holds new readers back from its call on), a waker that reaches a detached node only marks it
//      granted, for the commit to find.
//   2. The await registers the node as the goroutine's park (Continuation: plain writes, Goroutine.TryRegisterPark).
//   3. The step ends. The goroutine stores RunParkedOnChan (plain), then calls CommitPark, which takes the
//      primitive's lock and looks again: if the operation can complete now (or was granted meanwhile) it completes
//      it, and the goroutine runs on (Completed); if a post arrived it runs that first and commits again later
//      (Mail); else it queues the node marked committed (Parked). In every case the commit wakes the counterparties
//      it completed after unlocking. A select's commit may instead yield once, before it locks anything (Yield):
//      the goroutine goes behind runnext as RunQueuedToCommit and its next step starts with the commit (Select.cs,
//      step 3, says when and why); posters meanwhile find it queued and only append.
//   4. A completer that dequeues (or claims) a committed node under the primitive's lock therefore knows that its
//      owner is parked and that nobody else can wake it: it readies the goroutine with plain stores
//      (Continuation.CompleteCommitted, Scheduler.ReadyCommitted). A hop between two goroutines is then the
//      primitive's lock on each side: no mailbox lock, no status CAS.
//
// Meeting a post. A parked goroutine meets one other party: a foreign completion posted to it (Goroutine.Post). The
// park in step 3 takes no mailbox lock, so a poster and a parking goroutine meet as in Dekker's algorithm: the
// goroutine stores RunParkedOnChan and then reads the mailbox after the primitive's lock acquisition (a full fence);
// the poster stores its mail and then reads the run state after a full fence of its own (Goroutine.Deliver). At
// least one sees the other: the commit sees the mail (Mail: it does not park), or the poster sees RunParkedOnChan and
// claims the park back (TryUncommit). That claim takes the same lock as the commit, so it either precedes the commit
// (finds nothing committed, gives up, and the commit then sees the mail) or follows it; it succeeds only if no
// completer took the node first (if one did, that completer readies the goroutine and the mail runs in that step).
// A claimed node stays the goroutine's deferred park: the step the post causes commits it again. (A channel or
// Mutex node leaves its queue; a node queued at the call stays where it is, detached; a sleep's claim takes its
// timer out of the heap. Sleep.cs settles its commit, its timer, its token and a poster on one state word instead of
// a lock, with the same outcome.)
//
// What does not park this way: cancellable waits (a token callback must find the node queued to remove it; Go.Sleep
// is the exception, its state word lets the callback find the commit wherever it is), waits with a timeout case
// (their timer starts with the wait), the blocking and Try forms, code outside goroutines, and a second wait started
// in the same step before the first was awaited (it queues at once). Those complete by posting (Goroutine.cs). A
// deferred node its step does not park on is committed as an ordinary waiter (CommitLoose): at once when the owner's
// step awaits it some other way (AsTask, ConfigureAwait(false), WhenAll), so a step that then blocks on the task
// (sync over async) is met by a counterparty on another thread; otherwise when the step ends. So a started operation
// is visible to counterparties once its goroutine's step is over or blocks on it. The difference left from Go: a step
// that spins on IsCompleted without ever yielding never sees it complete (it would also starve its processor).
//
// Rejected: settling the park against posts with the mailbox lock, nested around the commit (a third interlocked
// operation per hop); a process-wide barrier on the poster's side instead of its fence (posts are the I/O completion
// path, and a membarrier per completion costs microseconds).
//
// Invariants
//   * A goroutine has at most one deferred park per step; it is committed exactly once per park, by the step end
//     (CommitPark, or CommitLoose when the step did not park on it) or early (CommitDeferredNow).
//   * A committed node is completed by exactly one party: a completer (under the primitive's lock) or a poster's
//     TryUncommit (under the same lock), never both.
//   * Once the commit's unlock has made the node visible, the step touches neither the goroutine, nor the node, nor
//     the primitive's own bookkeeping of the wait (a select's lock-order array included): a completer may already
//     have readied the goroutine on another M, whose next wait reuses all of them. Model-checked, with the races
//     against a waker, a cancellation, a close and a post: tests/Weft.ModelCheck/ParkModelTests.cs, and for the sleep
//     and RWMutex commits SleepModelTests.cs and RWMutexModelTests.cs.

namespace Weft.Runtime;

/// <summary>What committing a deferred park did.</summary>
internal enum ParkOutcome : byte
{
    /// <summary>The node is queued, committed: its completer readies the goroutine.</summary>
    Parked,

    /// <summary>The operation completed during the commit: the goroutine runs on with the park's continuation.</summary>
    Completed,

    /// <summary>A post arrived first: the goroutine runs its mail, and the node stays its deferred park.</summary>
    Mail,

    /// <summary>
    /// Not committed, and nobody saw the wait: the goroutine goes behind its P's runnext and its next step commits
    /// the node again, this time without yielding (a select's yield before parking, Select.Wait.cs).
    /// </summary>
    Yield,
}

/// <summary>
/// A wait that a goroutine parks on with a commit (the protocol above), and a node of a wait queue (WaitQueue.cs).
/// Channels, select, sleep and Weft.Sync's waiters implement it; the runtime only calls these members, from the goroutine's
/// own step and from a poster (TryUncommit).
/// </summary>
internal abstract class ParkNode
{
    /// <summary>Links in the wait queue that holds this node (WaitQueue.cs); guarded by that queue owner's lock. Next is free while the node is in no queue.</summary>
    internal ParkNode? Next, Prev;

    /// <summary>True while the node is in a wait queue; guarded by the same lock (read racily only where a comment says why).</summary>
    internal bool Queued;

    /// <summary>
    /// Called by the step end with <paramref name="owner"/> published as parked on this node: under the primitive's
    /// lock, completes the operation if it can (Completed: the result is in place and the continuation marked
    /// completed), else leaves it out if the owner has mail (Mail), else queues it committed (Parked). Wakes the
    /// counterparties it completed once its locks are released.
    /// </summary>
    internal virtual ParkOutcome CommitPark(Goroutine owner) => throw new InvalidOperationException("This node cannot be a deferred park.");

    /// <summary>The owner did not park on this deferred wait: queue it as an ordinary waiter, or complete it.</summary>
    internal virtual void CommitLoose() => throw new InvalidOperationException("This node cannot be a deferred park.");

    /// <summary>
    /// A poster, under <paramref name="owner"/>'s mailbox lock, found it parked on this committed node: takes the
    /// park back under the primitive's lock. False if a completer took it first, or it is not committed yet.
    /// </summary>
    internal virtual bool TryUncommit(Goroutine owner) => false;

    /// <summary>Puts a goroutine's spare node back into this thread's pool (channel waiters are spares).</summary>
    internal virtual void ReturnToPool() { }
}
