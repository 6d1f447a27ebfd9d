// WordLock — the one-word spin lock behind every short critical section of the runtime: a channel's lock, a sync
// primitive's wait queue, a goroutine's mailbox, a registry stripe. CAS to acquire, a release store to free.
//
// Held for a few dozen instructions (a ring slot, a queue link, a CAS on a select's done word) and never across
// user code or a wake-up, so contention is brief: waiters spin with SpinWait, which yields the thread rather than
// sleeping (sleep1Threshold -1). Rejected: System.Threading.Lock — correct and adaptive, but its Exit is an
// interlocked operation and it tracks an owner; measured slower on the ping-pong and mpmc workloads. Not reentrant.
// It is a mutable struct: keep it in a field and call it in place, never copy it.

using System.Runtime.CompilerServices;

namespace Weft.Runtime;

internal struct WordLock
{
    private int _state; // 0 free, 1 held

    /// <summary>True while some thread holds the lock (DEBUG assertions only: it cannot say which thread).</summary>
    public readonly bool IsHeld => Volatile.Read(ref Unsafe.AsRef(in _state)) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enter()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) EnterSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterSlow()
    {
        var spinner = new SpinWait();
        do spinner.SpinOnce(sleep1Threshold: -1);
        while (Volatile.Read(ref _state) != 0 || Interlocked.CompareExchange(ref _state, 1, 0) != 0);
    }

    /// <summary>The release store pairs with the acquiring CAS of the next holder: everything written under the lock is visible to it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit() => Volatile.Write(ref _state, 0);
}
