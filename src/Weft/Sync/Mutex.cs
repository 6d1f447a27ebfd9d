// Mutex — Go's sync.Mutex for goroutines and threads: not reentrant, no owner, two modes.
//
// Glossary
//   state     one int: Locked | Woken | Starving | HasWaiters. Changed only by CAS (or Interlocked.And).
//   queue     the parked waiters, FIFO, in a LockedQueue (the runtime wait queue with its own spin lock).
//   woken     a waiter that an Unlock has taken off the queue and that has not yet run: while one exists
//             (the Woken bit) Unlock wakes nobody else, so a burst of unlocks does not wake a herd.
//   barging   a newcomer taking a free mutex although others wait. It already runs on a CPU, so letting it in is
//             much cheaper than a hand-over to a parked waiter: that is normal mode, and why it is fast.
//   starving  normal mode can starve a waiter: it wakes, and finds the mutex taken again. A woken waiter that
//             fails to get the mutex after waiting more than 1 ms sets Starving. From then on Unlock hands the
//             mutex to the head of the queue directly (Locked never clears) and newcomers queue at the back. The
//             mode ends when the mutex is handed to the last waiter, or to one that waited less than 1 ms.
//             Waits are timed on the runtime's timer clock (Scheduler.TimerNow), which is virtual inside a test
//             bubble, so the 1 ms threshold can be tested exactly.
//
// Invariants
//   * HasWaiters == the queue is not empty; both change only under the queue lock.
//   * Starving implies Locked: a hand-over keeps Locked set, and the last hand-over clears Starving with it.
//   * Woken is set by an Unlock that then takes a waiter off the queue (or clears it again under the queue lock
//     if it found none), or by a spinning newcomer; the woken waiter or the spinner clears it when it acquires or
//     queues (with Locked set), or, cancelled, gives it up in AbandonWoken.
//   * Free with waiters implies Woken: an Unlock that finds waiters and nobody woken sets Woken and wakes one, and
//     every other path that clears Woken sets Locked or empties the queue in the same step. The one exception is
//     AbandonWoken, which clears Woken and at once wakes the next waiter if the mutex is free (KickIfFree). So a
//     cancelled waiter, which only leaves the queue and never holds Woken, has nobody to wake.
//
// Fast paths: Lock is one CAS 0 -> Locked, Unlock one CAS Locked -> 0. Any other bit sends Unlock to the slow
// path, which decides between wake-one (normal) and hand-over (starving).
// A contended Lock spins a few rounds first (only on a multicore machine and only while the mutex is held in
// normal mode), as Go does: a critical section of a few nanoseconds ends long before a park-and-wake round trip.
//
// Parking a goroutine: an uncancellable LockAsync in a goroutine parks with a commit (Runtime/Park.cs), as a channel
// receive does. The wait does not touch the queue while the step runs (Waiter.TryDefer); the step ends, and its
// commit (IWaitOwner.CommitPark: AcquireOrQueue under the queue lock, after the goroutine is published as parked)
// takes the mutex if it is free by then, or queues the node committed. The Unlock that dequeues a committed node
// readies its goroutine with plain stores (Waiter.Wake), so a hand-off costs the queue lock on each side and no
// mailbox lock. A post to a goroutine parked here claims the node back under the queue lock (TryUncommit), like a
// cancellation: the node leaves the queue, holding no Woken, and the step the post causes commits it again. While a
// woken waiter's commit is pending (the rest of its step) it holds Woken, exactly as while it spins. Cancellable
// waits, the blocking Lock and waits outside goroutines queue at once, as before.
//
// Rejected alternatives
//   * Go's layout (a waiter count in the state word, a separate semaphore): it leaves no way to take a cancelled
//     waiter back out, because the count and the semaphore disagree while an Unlock is between them.
//   * Always handing over (a fair lock): every Unlock under contention would cost a wake-up (a park-and-wake
//     round trip instead of a CAS), which is what SemaphoreSlim does.
//   * Waking on the ThreadPool: a woken goroutine is resumed onto the waker's P (Continuation), without allocating.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using Weft.Runtime;

namespace Weft.Sync;

/// <summary>
/// A mutual-exclusion lock (Go's <c>sync.Mutex</c>) usable from goroutines, plain async code and OS threads alike.
/// </summary>
/// <remarks>
/// <para>
/// Not reentrant and not owned: any goroutine or thread may unlock a locked mutex, and a second <see cref="Lock"/> by
/// the holder deadlocks, as in Go. Create it once and share it; it needs no disposal.
/// </para>
/// <para>
/// <see cref="LockAsync"/> parks only the goroutine (or async method) that waits; <see cref="Lock"/> blocks the
/// calling thread, and inside a goroutine it hands the goroutine's processor to another thread while it blocks.
/// Normal mode lets a newcomer take the mutex ahead of parked waiters (fast); a waiter that waited more than 1 ms
/// switches the mutex to starvation mode, where it is handed over in FIFO order.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var mu = new Mutex();
/// int count = 0;
/// for (int i = 0; i &lt; 8; i++)
///     Go.Run(async () =&gt; { await mu.LockAsync(); count++; mu.Unlock(); });
/// </code>
/// </example>
public sealed class Mutex : ILocker, IWaitOwner
{
    internal const int Locked = 1, Woken = 2, Starving = 4, HasWaiters = 8;

    /// <summary>Spin rounds before parking, and pause iterations per round (Go: 4 rounds of procyield(30)).</summary>
    private const int SpinRounds = 4, SpinPause = 30;

    private static readonly bool s_multicore = Environment.ProcessorCount > 1;
    private static readonly long s_starvationTicks = Clock.FromTimeSpan(TimeSpan.FromMilliseconds(1));

    private int _state;
    private LockedQueue _queue;

    /// <summary>Locks the mutex, blocking the calling thread until it is free.</summary>
    /// <param name="cancellationToken">Abandons the wait. Once Lock returned the mutex is held, whatever the token says.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before the mutex was acquired; the mutex is then not held.</exception>
    /// <remarks>
    /// Inside a goroutine prefer <see cref="LockAsync"/>: this blocks the goroutine's thread (its processor is handed
    /// to another thread meanwhile). A free mutex is taken even if the token is already cancelled, as with
    /// <see cref="LockAsync"/>: the token only ever ends a wait.
    /// </remarks>
    /// <example><code>mu.Lock(ct); try { shared++; } finally { mu.Unlock(); }</code></example>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Lock(CancellationToken cancellationToken = default)
    {
        // Full fence; pairs with the release CAS in Unlock, so the critical section sees the previous one's writes.
        if (Interlocked.CompareExchange(ref _state, Locked, 0) == 0) return;
        LockSlow(cancellationToken);
    }

    /// <summary>Locks the mutex, parking only the calling goroutine (or async method) until it is free.</summary>
    /// <param name="cancellationToken">Abandons the wait. Once the returned task completed successfully the mutex is held, whatever the token says.</param>
    /// <returns>A <see cref="ValueTask"/> to await exactly once; already completed when the mutex was free.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the mutex was acquired (thrown when awaited); the mutex is then not held.</exception>
    /// <remarks>An uncancellable wait allocates nothing in steady state.</remarks>
    /// <example><code>await mu.LockAsync(ct); try { shared++; } finally { mu.Unlock(); }</code></example>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ValueTask LockAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Locked, 0) == 0) return default;
        return LockSpinThenAsync(cancellationToken);
    }

    /// <summary>Spins before entering the async method: most contended locks end here, without a state machine.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask LockSpinThenAsync(CancellationToken cancellationToken)
    {
        bool awoke = false;
        if (Spin(ref awoke)) return default;
        return LockSlowAsync(awoke, cancellationToken);
    }

    /// <summary>Locks the mutex if it is free right now (and not being handed to a waiter).</summary>
    /// <returns>True if the mutex is now held by the caller; false, at once, otherwise.</returns>
    /// <remarks>As Go's doc says, a correct use of TryLock is rare: it is usually a sign of a deeper problem.</remarks>
    /// <example><code>if (mu.TryLock()) { try { Flush(); } finally { mu.Unlock(); } }</code></example>
    public bool TryLock()
    {
        int s = Volatile.Read(ref _state);
        return (s & (Locked | Starving)) == 0 && Interlocked.CompareExchange(ref _state, s | Locked, s) == s;
    }

    /// <summary>Unlocks the mutex; a waiter, if any, gets its chance (or, in starvation mode, the mutex itself).</summary>
    /// <exception cref="SynchronizationLockException">The mutex is not locked.</exception>
    /// <remarks>May be called by a goroutine or thread other than the one that locked it.</remarks>
    /// <example><code>mu.Unlock();</code></example>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Unlock()
    {
        // Full fence: publishes the critical section's writes to the next locker's CAS.
        if (Interlocked.CompareExchange(ref _state, 0, Locked) == Locked) return;
        UnlockSlow();
    }

    /// <summary>True while the mutex is held. A racy snapshot, for diagnostics and tests.</summary>
    internal bool IsLocked => (Volatile.Read(ref _state) & Locked) != 0;

    /// <summary>The state word (Locked | Woken | Starving | HasWaiters). A racy snapshot, for tests.</summary>
    internal int State => Volatile.Read(ref _state);

    /// <summary>How many wait, and whether the first is a goroutine's committed park (Runtime/Park.cs). A snapshot, for tests.</summary>
    internal (int Count, bool HeadCommitted) Waiters => _queue.Snapshot();

    /// <summary>True while some thread holds the queue lock: after any call returns, it must be false.</summary>
    internal bool IsQueueLockHeld => _queue.IsLockHeld;

    // ---- Lock slow path -------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LockSlow(CancellationToken cancellationToken)
    {
        bool awoke = false;
        if (Spin(ref awoke)) return;
        if (cancellationToken.IsCancellationRequested)
        {
            if (awoke) AbandonWoken();
            ThrowHelper.Canceled(cancellationToken);
        }
        var w = Waiter.RentBlocking(this, WaitReason.Mutex, cancellationToken);
        bool again = false;
        while (!AcquireOrQueue(w, ref awoke, again))
        {
            // A cancelled node was unlinked by Cancel. A queued waiter never holds Woken, so there is nothing else
            // to undo and nobody to wake (see the invariants).
            if (!w.Block())
            {
                w.Return();
                ThrowHelper.Canceled(cancellationToken);
            }
            if (w.Handoff) break;
            awoke = again = true;
            if (Spin(ref awoke)) break;
        }
        w.Return();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask LockSlowAsync(bool awoke, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            if (awoke) AbandonWoken();
            cancellationToken.ThrowIfCancellationRequested();
        }
        var w = Waiter.RentAsync(this, WaitReason.Mutex, cancellationToken);
        try
        {
            bool again = false;
            while (true)
            {
                if (w.TryDefer())
                {
                    // A goroutine's uncancellable wait parks with a commit: the step end queues it (CommitPark), or
                    // takes the mutex then, if it is free by that time (Handoff).
                    w.Weight = (again ? CommitAgain : 0) | (awoke ? CommitAwoke : 0);
                    awoke = false;
                }
                else
                {
                    if (AcquireOrQueue(w, ref awoke, again)) return;
                    w.ArmCancellation();
                }
                await w.Task;
                if (w.Handoff) return;
                awoke = again = true;
                if (Spin(ref awoke)) return;
            }
        }
        finally
        {
            w.Return();
        }
    }

    /// <summary>
    /// Spins a few rounds while the mutex is held in normal mode, taking it as soon as it is free. While spinning
    /// it sets Woken (if nobody is woken yet), telling Unlock not to wake a parked waiter that would only compete.
    /// </summary>
    private bool Spin(ref bool awoke)
    {
        if (!s_multicore) return false;
        for (int round = 0; round < SpinRounds; round++)
        {
            int s = Volatile.Read(ref _state);
            if ((s & Starving) != 0) return false;
            if ((s & Locked) == 0)
            {
                int ns = (s | Locked) & ~(awoke ? Woken : 0);
                if (Interlocked.CompareExchange(ref _state, ns, s) == s) { awoke = false; return true; }
                continue;
            }
            if (!awoke && (s & (Woken | HasWaiters)) == HasWaiters &&
                Interlocked.CompareExchange(ref _state, s | Woken, s) == s)
            {
                awoke = true;
            }
            Thread.SpinWait(SpinPause);
        }
        return false;
    }

    /// <summary>
    /// Under the queue lock: takes the mutex if it is free, otherwise queues <paramref name="w"/> (at the front if
    /// it already waited, setting Starving if that was for more than 1 ms). Clears Woken if this caller held it.
    /// </summary>
    /// <returns>True if the mutex was taken; false if <paramref name="w"/> is queued and must wait.</returns>
    private bool AcquireOrQueue(Waiter w, ref bool awoke, bool again)
    {
        bool wasAwoke = awoke;
        awoke = false;
        return AcquireOrQueue(w, wasAwoke, again, stampSince: !again, deferred: false, parked: null) == ParkOutcome.Completed;
    }

    // The deferred wait's arguments to its commit, kept in Waiter.Weight (which the mutex does not otherwise use).
    private const long CommitAgain = 1, CommitAwoke = 2, CommitSinceSet = 4;

    /// <summary>
    /// Under the queue lock: takes the mutex if it is free (Completed), otherwise queues <paramref name="w"/> (at the
    /// front if it already waited, setting Starving if that was for more than 1 ms) and returns Parked. Clears Woken
    /// if the caller held it (<paramref name="awoke"/>). A deferred wait's commit passes the goroutine that parked,
    /// <paramref name="parked"/>: the node is then queued committed, or left out (Mail) if a post arrived first,
    /// with the state word untouched, so the commit can run again after the mail.
    /// </summary>
    private ParkOutcome AcquireOrQueue(Waiter w, bool awoke, bool again, bool stampSince, bool deferred, Goroutine? parked)
    {
        long now = Scheduler.TimerNow();
        if (stampSince) w.Since = now;
        bool starve = again && now - w.Since > s_starvationTicks;
        int clear = awoke ? Woken : 0;
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeQueueLock);
        _queue.Lock();
        AssertInvariants();
        int s = Volatile.Read(ref _state);
        while (true)
        {
            bool free = (s & Locked) == 0; // Starving implies Locked, so free means a newcomer may take it
            // A post to the parked goroutine: read after the queue lock's acquisition, a full fence that pairs with
            // the poster's (Park.cs). Nothing is changed, so the later commit finds the state as this one did.
            if (!free && parked is not null && parked.HasMail) { _queue.Unlock(); return ParkOutcome.Mail; }
            int ns = free ? (s | Locked) & ~clear : (s | HasWaiters | (starve ? Starving : 0)) & ~clear;
            int seen = Interlocked.CompareExchange(ref _state, ns, s);
            if (seen == s)
            {
                if (free) { _queue.Unlock(); return ParkOutcome.Completed; }
                break;
            }
            s = seen;
        }
        // Prepared only now, under the lock and only when it queues: a node queuing again still says Woken until
        // here, so its token (armed since its first wait) firing meanwhile does nothing, and ArmCancellation's
        // re-check catches it. Prepared earlier, a cancellation in that gap would claim a node that is in no
        // queue: Cancel could not unlink it, and its wake-up would leak into this thread's next wait. A deferred
        // node has no token and was prepared before its goroutine awaited it (Waiter.TryDefer).
        if (!deferred) w.Prepare();
        w.Committed = parked is not null;
        if (again) _queue.PushFront(w); else _queue.PushBack(w);
        _queue.Unlock();
        return ParkOutcome.Parked;
    }

    ParkOutcome IWaitOwner.CommitPark(Waiter w, Goroutine? parked)
    {
        long flags = w.Weight;
        var outcome = AcquireOrQueue(w, (flags & CommitAwoke) != 0, (flags & CommitAgain) != 0,
            stampSince: (flags & (CommitAgain | CommitSinceSet)) == 0, deferred: true, parked);
        if (outcome == ParkOutcome.Completed) w.Handoff = true; // the commit took the mutex: the wait is over
        else if (outcome == ParkOutcome.Mail) return outcome;   // committed again after the mail, with the same flags
        w.Weight = (flags & CommitAgain) | CommitSinceSet;      // Woken, if it was ours, is cleared now
        return outcome;
    }

    bool IWaitOwner.TryUncommit(Waiter w, Goroutine parked)
    {
        _queue.Lock();
        // Like a cancellation, the claimed-back node only leaves the queue: a queued waiter never holds Woken, so
        // there is nobody to wake. It loses its place in the queue; its first-wait time stays (CommitSinceSet).
        bool mine = w.IsCommittedParkOf(parked, this) && _queue.Remove(w);
        if (mine)
        {
            w.Committed = false;
            if (_queue.IsEmpty) Interlocked.And(ref _state, ~HasWaiters);
        }
        _queue.Unlock();
        return mine;
    }

    // ---- Unlock slow path -----------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void UnlockSlow()
    {
        int s = Volatile.Read(ref _state);
        while (true)
        {
            if ((s & Locked) == 0) ThrowHelper.NotLocked("Unlock");
            if ((s & Starving) != 0) { HandOver(); return; }
            bool wake = (s & (HasWaiters | Woken)) == HasWaiters;
            int ns = (s & ~Locked) | (wake ? Woken : 0);
            int seen = Interlocked.CompareExchange(ref _state, ns, s);
            if (seen == s)
            {
                if (wake) WakeOne();
                return;
            }
            s = seen;
        }
    }

    /// <summary>Normal mode, with Woken just set by the caller: takes one waiter off the queue and wakes it to compete.</summary>
    private void WakeOne()
    {
        _queue.Lock();
        var w = _queue.PopClaimed();
        int clear = (_queue.IsEmpty ? HasWaiters : 0) | (w is null ? Woken : 0);
        if (clear != 0) Interlocked.And(ref _state, ~clear);
        _queue.Unlock();
        w?.Wake();
    }

    /// <summary>Starvation mode: Locked stays set and the mutex goes straight to the head of the queue.</summary>
    private void HandOver()
    {
        _queue.Lock();
        var w = _queue.PopClaimed();
        if (w is null)
        {
            // Every waiter was cancelled: the mutex is simply free again.
            Interlocked.And(ref _state, ~(Locked | Starving | HasWaiters));
            _queue.Unlock();
            return;
        }
        bool last = _queue.IsEmpty;
        if (last || Scheduler.TimerNow() - w.Since < s_starvationTicks)
            Interlocked.And(ref _state, ~(Starving | (last ? HasWaiters : 0)));
        w.Handoff = true;
        _queue.Unlock();
        w.Wake();
    }

    void IWaitOwner.Cancel(Waiter w)
    {
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeCancelLock);
        _queue.Lock();
        _queue.Remove(w);
        if (_queue.IsEmpty) Interlocked.And(ref _state, ~HasWaiters);
        _queue.Unlock();
    }

    /// <summary>
    /// A caller that set Woken while spinning gives up (cancelled): clear it, and pass the turn on. An Unlock that
    /// ran meanwhile saw Woken and woke nobody, so if the mutex is free now, the next waiter must be woken here.
    /// </summary>
    private void AbandonWoken()
    {
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.AbandonWoken);
        Interlocked.And(ref _state, ~Woken);
        KickIfFree();
    }

    private void KickIfFree()
    {
        int s = Volatile.Read(ref _state);
        while ((s & (Locked | Woken | HasWaiters)) == HasWaiters)
        {
            int seen = Interlocked.CompareExchange(ref _state, s | Woken, s);
            if (seen == s) { WakeOne(); return; }
            s = seen;
        }
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        int s = Volatile.Read(ref _state);
        Debug.Assert((s & Starving) == 0 || (s & Locked) != 0, "A starving mutex is always locked: hand-over keeps Locked set.");
        Debug.Assert(((s & HasWaiters) != 0) == !_queue.IsEmpty, "HasWaiters says whether the queue is empty; both change under the queue lock.");
    }
}
