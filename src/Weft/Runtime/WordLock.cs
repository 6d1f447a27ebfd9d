// WordLock — the one-word spin lock behind every short critical section of the runtime: a channel's lock, a sync
// primitive's wait queue, a goroutine's mailbox, a registry stripe. CAS to acquire, a release store to free.
//
// Held for a few dozen instructions (a ring slot, a queue link, a CAS on a select's done word) and never across
// user code or a wake-up, so contention is brief: waiters spin with SpinWait, which yields the thread rather than
// sleeping (sleep1Threshold -1). Rejected: System.Threading.Lock — correct and adaptive, but its Exit is an
// interlocked operation and it tracks an owner, costs the ping-pong and mpmc workloads pay on every hop. Not reentrant.
// It is a mutable struct: keep it in a field and call it in place, never copy it.
//
// Debug builds bound the wait: a waiter that has waited longer than DebugHeldLimit (off unless a test harness sets
// it) fails a Debug.Assert naming the lock's owner type. A lock held for seconds is never contention (the critical
// sections are a few dozen instructions): it is a path that forgot Exit, and without the bound that bug shows only as
// a spinning thread that hangs the run. With it, the Debug test pass (and mutation testing, which builds Debug) fails
// the test that met the leaked lock, by an assertion.
//
// Two ways to wait for it, chosen by the caller:
//   Enter           spins (SpinWait: growing pause loops, then yields) before retrying. For a waiter on the critical
//                   path: a select (usually the one consumer of several producers), wait queues, mailboxes, run queues.
//   EnterYielding   yields the thread at once on contention and retries. For a channel's plain send and receive. When
//                   goroutines on two processors hammer one channel (mpmc), a spinning waiter takes the lock in the
//                   holder's gap between two operations, so the channel's lines cross between the cores on every
//                   operation; a waiter that yields leaves the holder a burst of operations on lines in its own
//                   cache. Each pause added before the yield made mpmc slower, so it yields at once (Go's runtime
//                   lock spins, then sleeps on a futex). Yielding at the select's lock as well slowed the select
//                   workload (its one consumer yielded to the producers, whose buffers then
//                   filled and whose processors went idle and were woken again), so select keeps spinning.

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
#if DEBUG
        long since = Environment.TickCount64;
#endif
        do
        {
            spinner.SpinOnce(sleep1Threshold: -1);
#if DEBUG
            CheckHeldLimit(since);
#endif
        }
        while (Volatile.Read(ref _state) != 0 || Interlocked.CompareExchange(ref _state, 1, 0) != 0);
    }

    /// <summary>
    /// Acquires the lock; on contention, yields the thread at once (no spinning) until the lock is free. For the
    /// plain channel operations (see the file comment for when to choose it over <see cref="Enter"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnterYielding()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) EnterYieldingSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterYieldingSlow()
    {
#if DEBUG
        long since = Environment.TickCount64;
#endif
        do
        {
            Thread.Yield();
#if DEBUG
            CheckHeldLimit(since);
#endif
        }
        while (Volatile.Read(ref _state) != 0 || Interlocked.CompareExchange(ref _state, 1, 0) != 0);
    }

#if DEBUG
    /// <summary>
    /// Debug only: how long a waiter may wait before the lock counts as leaked (see the essay); zero, the default,
    /// means no bound. Test harnesses set it to their own timeout.
    /// </summary>
    internal static TimeSpan DebugHeldLimit { get; set; }

    private static void CheckHeldLimit(long since)
    {
        long limit = (long)DebugHeldLimit.TotalMilliseconds;
        if (limit > 0 && Environment.TickCount64 - since > limit)
        {
            System.Diagnostics.Debug.Fail($"A WordLock stayed held for over {DebugHeldLimit.TotalSeconds:0.#} s while this thread waited for it: a path took it and never released it.");
        }
    }
#endif

    /// <summary>The release store pairs with the acquiring CAS of the next holder: everything written under the lock is visible to it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit() => Volatile.Write(ref _state, 0);
}
