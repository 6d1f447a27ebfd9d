// Chan<T>, deferred waits: a goroutine's blocked send or receive enters the channel when the goroutine's step ends.
//
// Why: a hop (hand a value to a parked goroutine, then park yourself) used to cost four interlocked operations: the
// channel lock on each side, and the parked goroutine's mailbox lock on each side (the waker's "is it parked yet?"
// against the sleeper's "did my value come before my step ended?"; Go pays a status CAS on each side, casgstatus).
// That handshake is needed only because the sleeper queues itself in the channel while its step still runs. Here it
// does not (tests: tests/Weft.Tests/Runtime/ParkProtocolTests.cs):
//
//   1. SendAsync/ReceiveAsync in a goroutine, with a token that cannot be cancelled, first look at the channel without
//      its lock. If the operation looks blocked, they take a node (the goroutine's spare, see ChanWaiter) and return
//      it pending WITHOUT queueing it: the goroutine records it as its deferred wait (one per step).
//   2. The await registers the node as the goroutine's park (Continuation's owned protocol, plain writes).
//   3. When the step ends, the goroutine publishes RunParkedOnChan (a plain store), then takes the channel lock and
//      looks again: if the operation can complete now it completes it and runs on (Completed); if a post arrived it
//      runs that first and commits again later (Mail); else it queues the node as a committed park (Parked).
//   4. The completer that dequeues a committed node under the channel lock therefore knows that its owner is parked,
//      and that nobody else can wake it: it readies the goroutine with plain stores (Goroutine.WakeCommitted).
// A hop is then the two channel locks alone.
//
// Posts (a continuation of a task the goroutine forked, Task.Delay, a socket) are the only other party. The park in
// step 3 takes no mailbox lock, so a poster and a parking goroutine meet as in Dekker's algorithm: the goroutine
// stores RunParkedOnChan and then reads the mailbox after the channel lock's full fence; the poster stores its mail
// and then reads the run state after a full fence of its own (Goroutine.Deliver). At least one sees the other: the
// park sees the mail (Mail: it does not park), or the poster sees RunParkedOnChan and claims the node back out of the
// channel under the channel lock (TryUncommit). That claim succeeds only if the node is still queued there for this
// owner; if a completer dequeued it first, the completer readies the goroutine and the mail runs in that step. A
// claim that comes before the commit finds the node unqueued and gives up, and then the commit, which follows it
// under the same lock, sees the mail. A claimed node stays the goroutine's park: the step the post causes commits it
// again (so it loses its place in the channel's FIFO, which only a post can cause).
//
// What is not deferred: cancellable operations (a token callback must find the node queued to remove it), select,
// the blocking and Try forms, code outside goroutines, and a second send or receive started in the same step before
// the first was awaited (it queues at once, as before). A deferred node its step does not park on becomes an
// ordinary waiter (CommitLoose): at once when the owner's step awaits it some other way (AsTask, ConfigureAwait(false),
// WhenAll: ChanWaiter.OnCompleted), so a step that then blocks on the task (sync over async) is met by a sender on
// another thread; otherwise when the step ends (handed to another goroutine, not awaited yet, polled across yields).
// So a started operation is visible to counterparties once its goroutine's step is over or blocks on it. The one
// difference left: a step that spins on IsCompleted without ever yielding never sees it complete (it would also
// starve every other goroutine of its processor).
//
// Rejected: settling the park against posts with the mailbox lock, nested around the commit: it kept a third
// interlocked operation per hop. A process-wide barrier on the poster's side instead of its fence: posts are the
// I/O completion path, and a membarrier per completion would cost microseconds. A thread-static node pool for
// deferred nodes instead of the goroutine's spare: a generic type's thread-static costs a runtime helper call.

using System.Runtime.CompilerServices;
using Weft.Channels;
using Weft.Runtime;

namespace Weft;

public sealed partial class Chan<T>
{
    /// <summary>
    /// Queues deferred waiter <paramref name="w"/> or completes it now. <paramref name="owner"/> is the parked goroutine
    /// for a committed park, null for a loose commit. Returns the wake list to run after every lock is released.
    /// </summary>
    internal Sudog? CommitDeferred(ChanWaiter<T> w, bool isSend, Goroutine? owner, out DeferredOutcome outcome)
    {
        _lock.EnterYielding();
        AssertInvariants();
        Sudog? wake;
        bool done;
        if (isSend)
        {
            int status = TrySendLocked(w.Value, out wake);
            done = status != NotReady;
            if (done) w.Ok = status == Done;
        }
        else
        {
            done = TryReceiveLocked(out T value, out bool ok, out wake);
            if (done)
            {
                w.Value = value;
                w.Ok = ok;
            }
        }
        if (done)
        {
            outcome = DeferredOutcome.Completed;
        }
        else if (owner is not null && owner.HasMail)
        {
            outcome = DeferredOutcome.Mail; // wake is null: a send or receive that could not complete wakes nobody
        }
        else
        {
            w.Committed = owner is not null;
            wake = EnqueueLocked(w, isSend);
            outcome = DeferredOutcome.Parked;
        }
        _lock.Exit();
        return wake;
    }

    /// <summary>A poster takes <paramref name="owner"/>'s committed park back out of this channel, if still queued here.</summary>
    internal bool TryUncommit(ChanWaiter<T> w, bool isSend, Goroutine owner)
    {
        _lock.Enter();
        bool mine = Volatile.Read(ref w.Queued) && w.Committed && w.IsOwnedBy(owner) && w.IsOn(this)
            && (isSend ? _sendq.Remove(w) : _recvq.Remove(w));
        if (mine) w.Committed = false;
        _lock.Exit();
        return mine;
    }

    /// <summary>True when a send could not complete now, as far as a racy look can tell (the commit looks again under the lock).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SendLooksBlocked() => _recvq.IsEmpty && Volatile.Read(ref _count) == _ring.Length && !Volatile.Read(ref _closed);

    /// <summary>True when a receive could not complete now, as far as a racy look can tell (the commit looks again under the lock).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ReceiveLooksBlocked() => _sendq.IsEmpty && Volatile.Read(ref _count) == 0 && !Volatile.Read(ref _closed);
}
