// Chan<T>, deferred waits: a goroutine's wait that enters the channel only when the goroutine's step ends.

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
        _lock.Enter();
        AssertInvariants();
        Sudog? wake;
        if (isSend)
        {
            int status = TrySendLocked(w.Value, out wake);
            if (status != NotReady)
            {
                w.Ok = status == Done;
                _lock.Exit();
                outcome = DeferredOutcome.Completed;
                return wake;
            }
            if (owner is not null && owner.HasMail)
            {
                _lock.Exit();
                outcome = DeferredOutcome.Mail;
                return null;
            }
            w.Committed = owner is not null;
            _sendq.Enqueue(w);
            wake = ReadReadyLocked();
        }
        else
        {
            if (TryReceiveLocked(out T value, out bool ok, out wake))
            {
                w.Value = value;
                w.Ok = ok;
                _lock.Exit();
                outcome = DeferredOutcome.Completed;
                return wake;
            }
            if (owner is not null && owner.HasMail)
            {
                _lock.Exit();
                outcome = DeferredOutcome.Mail;
                return null;
            }
            w.Committed = owner is not null;
            _recvq.Enqueue(w);
            wake = WriteReadyLocked();
        }
        _lock.Exit();
        outcome = DeferredOutcome.Parked;
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
