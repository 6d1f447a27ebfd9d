// ISelectable — the one internal interface through which select (and timers) drive anything selectable.
// Chan<T> implements it today; IPC channels (shared-memory rings, pipes, message queues) implement it later and
// join a select beside local channels and timeouts with no special case in Select.
//
// Protocol, as Select uses it:
//   1. Peek (no lock, racy): "might a send/receive complete now?". A false positive costs one locked attempt;
//      a false negative only delays the case to the locked pass, which never trusts Peek.
//   2. Lock every distinct source in ascending SelectId (the global lock order), TryLocked each case in random
//      order; if none completes, EnqueueLocked a node per case, all sharing one SelectCore "done" word; Unlock.
//   3. Whoever completes a node claims it first (Sudog.TryClaim: CAS on the done word), writes the result, and
//      wakes it after releasing its own lock.
//   4. The select's owner, once woken, DequeueLocked the losers (one source at a time; no ordering needed).

namespace Weft.Channels;

/// <summary>
/// Hands out <see cref="ISelectable{T}.SelectId"/>s. One counter for every source of every element type: a counter in
/// the generic <c>Chan&lt;T&gt;</c> would be one per T, so a <c>Chan&lt;int&gt;</c> and a <c>Chan&lt;string&gt;</c> could
/// share an id, and a select over both would take them for one channel and lock only one of them.
/// </summary>
internal static class SelectIds
{
    private static long s_next;

    public static long Next() => Interlocked.Increment(ref s_next);
}

/// <summary>Something a select case can send to or receive from.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface ISelectable<T>
{
    /// <summary>The global lock order: unique per source, ascending order of locking.</summary>
    long SelectId { get; }

    void SelectLock();
    void SelectUnlock();

    /// <summary>Racy readiness check; see the protocol above.</summary>
    bool Peek(bool send);

    /// <summary>
    /// Under the lock: completes a send of <paramref name="node"/>.Value, or a receive into <paramref name="node"/>,
    /// if it can complete now. Returns <c>Chan.NotReady</c>, <c>Done</c> or <c>Closed</c> (a send on a closed source).
    /// <paramref name="wake"/> is a counterparty to resume after unlocking.
    /// </summary>
    OpStatus TryLocked(Sudog<T> node, bool send, out Sudog? wake);

    /// <summary>Parks <paramref name="node"/>; returns readiness waiters to wake after unlocking (see ReadyWaiter), usually null.</summary>
    Sudog? EnqueueLocked(Sudog<T> node, bool send);

    /// <summary>Removes a losing node if it is still parked.</summary>
    void DequeueLocked(Sudog<T> node, bool send);
}
