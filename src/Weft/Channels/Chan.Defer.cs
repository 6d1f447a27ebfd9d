// Chan<T>, deferred waits: a goroutine's blocked send or receive enters the channel when the goroutine's step ends.
// This is the channel's side of the park-then-commit protocol that Runtime/Park.cs describes: CommitDeferred is the
// commit (under the channel lock), TryUncommit a poster's claim (under the same lock), and the completer of a
// committed waiter readies its goroutine with plain stores (Chan.WakeAll: Continuation.Complete, then
// Scheduler.ReadyCommitted). The racy looks that decide whether to defer sit beside the operations they serve
// (SendLooksBlocked in Chan.Send.cs, ReceiveLooksBlocked in Chan.Receive.cs).
//
// Why a channel wait defers: a hop (hand a value to a parked goroutine, then park yourself) used to cost four
// interlocked operations: the channel lock on each side, and the parked goroutine's mailbox lock on each side (the
// waker's "is it parked yet?" against the sleeper's "did my value come before my step ended?"; Go pays a status CAS
// on each side, casgstatus). Deferred, a hop is the two channel locks alone (tests:
// tests/Weft.Tests/Runtime/ParkProtocolTests.cs). A claimed-back waiter loses its place in the channel's FIFO, which
// only a post can cause.
//
// Rejected: a thread-static node pool for deferred nodes instead of the goroutine's spare: a generic type's
// thread-static costs a runtime helper call.

using Weft.Channels;
using Weft.Runtime;

namespace Weft;

public sealed partial class Chan<T>
{
    /// <summary>
    /// Queues deferred waiter <paramref name="w"/> or completes it now. <paramref name="owner"/> is the parked goroutine
    /// for a committed park, null for a loose commit. <paramref name="wake"/> is the wake list to run after the lock is released.
    /// </summary>
    internal ParkOutcome CommitDeferred(ChanWaiter<T> w, bool isSend, Goroutine? owner, out Sudog? wake)
    {
        _lock.EnterYielding();
        AssertInvariants();
        bool done;
        ParkOutcome outcome;
        if (isSend)
        {
            OpStatus status = TrySendLocked(w.Value, out wake);
            done = status != OpStatus.NotReady;
            if (done) w.Ok = status == OpStatus.Done;
        }
        else
        {
            T value;
            bool ok;
            done = _transport is null ? TryReceiveLocked(out value, out ok, out wake) : TryReceiveBeforeParkLocked(out value, out ok, out wake);
            if (done)
            {
                w.Value = value;
                w.Ok = ok;
            }
        }
        if (done)
        {
            outcome = ParkOutcome.Completed;
        }
        else if (owner is not null && owner.HasMail)
        {
            outcome = ParkOutcome.Mail; // wake is null: a send or receive that could not complete wakes nobody
        }
        else
        {
            w.Committed = owner is not null;
            wake = EnqueueLocked(w, isSend);
            outcome = ParkOutcome.Parked;
        }
        _lock.Exit();
        return outcome;
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
}
