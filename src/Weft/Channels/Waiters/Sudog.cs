// Sudog — a blocked send or receive parked on a channel's wait queue (Go's runtime.sudog).
//
// Glossary
//   Sudog      one parked operation on one channel: a plain SendAsync/ReceiveAsync (ChanWaiter) or one case of a
//              blocked select (a case node, Select != null). It carries the value to send, or receives the value.
//   claim      the right to complete a sudog. For a plain op, dequeuing it under the channel's lock IS the claim:
//              completion (a counterparty or Close) and cancellation both remove it from the queue under that lock,
//              so exactly one of them finds it queued. For a select case the queues of several channels hold nodes
//              that share one "done" word (SelectCore), so dequeuing is not enough: the dequeuer must also win
//              SelectCore.TryClaim; a node whose select is already done is a loser, dropped and skipped. The
//              channel's hand-offs (TrySendLocked, TryReceiveLocked) dequeue the head themselves and come here
//              (SudogQueue.DequeueClaimed) only past a losing select case; Close and the timers always do.
//   wake       after the channel lock is released, the completer resumes the waiter through Runtime.Continuation:
//              the channel's own paths call Continuation.Complete on a plain waiter directly (Chan.WakeAll), a wake
//              list of several or of select cases goes through the virtual Wake() here. Nothing that runs user code, and nothing that readies a goroutine, happens
//              under a channel lock (STYLE 9).
//
// Invariants
//   * A sudog sits in at most one queue (Runtime.WaitQueue, with the links every ParkNode carries); its links are
//     guarded by the lock of the channel whose queue holds it.
//   * Value/Ok/Closed are written by the claimer under the channel lock before Wake, and read by the waiter only
//     after its continuation ran (Continuation orders the write before the read: an interlocked operation, or
//     the owner goroutine's mailbox lock, on each side).

using System.Diagnostics;
using System.Runtime.CompilerServices;
using Weft.Runtime;

namespace Weft.Channels;

/// <summary>The untyped part of a parked operation: claim, select membership and wake-up.</summary>
internal abstract class Sudog : ParkNode
{
    /// <summary>The select this node is a case of, or null for a plain send/receive. Written by the owner before enqueuing.</summary>
    internal SelectCore? Select;

    /// <summary>The case index reported to the select when this node wins.</summary>
    internal int CaseIndex;

    /// <summary>Link of the wake list a completer builds under the lock and walks after releasing it.</summary>
    internal Sudog? WakeNext;

    /// <summary>Resumes the waiter. Called exactly once per claim, after the channel lock is released.</summary>
    internal abstract void Wake();

    /// <summary>True when the caller may complete this node: a plain op always (dequeuing was the claim); a select case only if it wins the select.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryClaim() => Select is null || Select.TryClaim(CaseIndex);

    /// <summary>False for a select case whose select another case (or its token) already won: a loser nobody can claim.</summary>
    internal bool IsLive => Select is null || !Select.IsDecided;

    /// <summary>Appends wake list <paramref name="second"/> to <paramref name="first"/> (either may be null). Caller holds the lock that built them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Sudog? Concat(Sudog? first, Sudog? second)
    {
        if (second is null) return first; // the common case: nobody waits for readiness
        if (first is null) return second;
        return Link(first, second);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Sudog Link(Sudog first, Sudog second)
    {
        var last = first;
        while (last.WakeNext is { } n) last = n;
        last.WakeNext = second;
        return first;
    }

    /// <summary>
    /// Resumes a wake list built under a lock (linked through <see cref="WakeNext"/>), after the lock is released.
    /// Usually one node. Reads each link before the wake: the woken owner may reuse its node at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void WakeAll(Sudog? s)
    {
        if (s is null) return;
        if (s.WakeNext is null) s.Wake(); // the common case: one counterparty
        else WakeList(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WakeList(Sudog? s)
    {
        while (s is not null)
        {
            var next = s.WakeNext;
            if (next is not null) s.WakeNext = null;
            s.Wake();
            s = next;
        }
    }
}

/// <summary>A parked operation on a <see cref="Chan{T}"/>; a select case node when <see cref="Sudog.Select"/> is set.</summary>
internal class Sudog<T> : Sudog
{
    /// <summary>For a sender, the value to send; for a receiver, the value received.</summary>
    internal T Value = default!;

    /// <summary>Receiver: a value arrived (false: the channel was closed). Sender: the value was taken (false: closed).</summary>
    internal bool Ok;

    internal override void Wake()
    {
        Debug.Assert(Select is not null, "A plain waiter overrides Wake; the base class is a select case node.");
        Select.Signal();
    }
}

/// <summary>
/// The channel's claim loops over the runtime's wait queue (Runtime/WaitQueue.cs): a plain waiter is claimed by
/// dequeuing it, a select case only if its select is not yet done. Guarded by the owning channel's lock.
/// </summary>
internal static class SudogQueue
{
    /// <summary>
    /// True if a node that could still be completed heads the queue; select losers at the head are dropped on the way
    /// (as <see cref="DequeueClaimed"/> drops them). Used by the readiness waits, which must not report a loser as a
    /// counterparty. Caller holds the lock.
    /// </summary>
    public static bool HasLive<T>(this ref WaitQueue<Sudog<T>> queue)
    {
        while (queue.Head is { } s)
        {
            if (s.IsLive) return true;
            queue.Remove(s);
        }
        return false;
    }

    /// <summary>
    /// Removes every node (readiness waiters: nothing to claim), sets their <see cref="Sudog{T}.Ok"/> to
    /// <paramref name="ok"/> and returns them as a wake list for <see cref="Sudog.WakeAll"/>. Caller holds the lock.
    /// </summary>
    public static Sudog? TakeAll<T>(this ref WaitQueue<Sudog<T>> queue, bool ok)
    {
        Sudog? first = null, last = null;
        while (queue.Dequeue() is { } s)
        {
            s.Ok = ok;
            if (last is null) first = s;
            else last.WakeNext = s;
            last = s;
        }
        return first;
    }

    /// <summary>
    /// Dequeues the first waiter the caller may complete: plain waiters always, select cases only if their select is
    /// not yet done (Go's dequeue skipping sudogs whose selectDone is set). Losers are dropped on the way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Sudog<T>? DequeueClaimed<T>(this ref WaitQueue<Sudog<T>> queue)
    {
        while (queue.Dequeue() is { } s)
        {
            if (s.TryClaim()) return s;
        }
        return null;
    }
}
