// Cond — Go's sync.Cond on any ILocker (a Mutex, an RWMutex or its RLocker): goroutines and threads wait for a
// condition to become true.
//
// Wait queues its waiter (under the Cond's queue lock) before it unlocks the mutex, so a Signal or Broadcast issued
// after the waiter released the mutex always finds it: no wake-up is lost between "unlock" and "sleep", which is
// the whole point of a condition variable. Signal wakes the longest waiter (FIFO), Broadcast all of them.
// A woken waiter locks L again before Wait returns, also when its wait was cancelled.
// Misuse (Wait without holding L) is caught before queuing for Weft's own lockers. A locker of the user's own can
// only say so by throwing from Unlock, after the waiter queued: the waiter is then taken back out, and if a Signal
// claimed it meanwhile, its wake-up is absorbed and the Signal passed on, so neither a wake-up nor a node leaks.
//
// Parking a goroutine: an uncancellable WaitAsync in a goroutine parks with a commit (Runtime/Park.cs) in the shape
// Waiter.cs calls "queued at the call": the node is queued before L is unlocked, exactly as before, but Detached, so
// a Signal that comes before the goroutine's step ends marks it signalled instead of waking it; the step's end
// commits it (signalled meanwhile, or committed), and the Signal or Broadcast that takes a committed node readies its
// goroutine with plain stores. A post claims the node back where it stands (TryUncommit): it keeps its FIFO place,
// and a Signal while the post runs still goes to it, as it would to any waiter still queued.

using Weft.Runtime;

namespace Weft.Sync;

/// <summary>
/// A condition variable (Go's <c>sync.Cond</c>): a rendezvous for goroutines or threads waiting for, or announcing,
/// a change of state protected by <see cref="L"/>.
/// </summary>
/// <remarks>
/// As in Go, wake-ups carry no state: always wait in a loop that rechecks the condition. Most uses are clearer with a
/// channel; Cond fits when many waiters watch the same state.
/// </remarks>
/// <example>
/// <code>
/// await mu.LockAsync();
/// while (queue.Count == 0) await cond.WaitAsync();
/// var item = queue.Dequeue();
/// mu.Unlock();
/// </code>
/// </example>
public sealed class Cond : IWaitOwner
{
    private LockedQueue _queue;

    /// <summary>How many wait, and whether the first is a goroutine's committed park (Runtime/Park.cs). A snapshot, for tests.</summary>
    internal (int Count, bool HeadCommitted) Waiters => _queue.Snapshot();

    /// <summary>True while some thread holds the queue lock: after any call returns, it must be false.</summary>
    internal bool IsQueueLockHeld => _queue.IsLockHeld;

    /// <summary>Creates a condition variable whose waiters hold <paramref name="l"/>.</summary>
    /// <param name="l">The lock that protects the condition: a <see cref="Mutex"/>, an <see cref="RWMutex"/> (its
    /// write side), <see cref="RWMutex.RLocker"/>, or any <see cref="ILocker"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="l"/> is null.</exception>
    /// <example><code>var cond = new Cond(mu); var readers = new Cond(rw.RLocker());</code></example>
    public Cond(ILocker l)
    {
        ArgumentNullException.ThrowIfNull(l);
        L = l;
    }

    /// <summary>The lock held while the condition is observed or changed (Go's <c>L</c>).</summary>
    public ILocker L { get; }

    /// <summary>Unlocks <see cref="L"/>, blocks the calling thread until woken by <see cref="Signal"/> or <see cref="Broadcast"/>, then locks <see cref="L"/> again.</summary>
    /// <param name="cancellationToken">Ends the wait early; <see cref="L"/> is locked again before the exception is thrown.</param>
    /// <exception cref="SynchronizationLockException"><see cref="L"/> was not locked (the waiter is then not queued).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a wake-up (also when it already was on entry); <see cref="L"/> is held again.</exception>
    /// <remarks>Inside a goroutine prefer <see cref="WaitAsync"/>. A cancelled waiter takes no Signal with it: a Signal goes to a waiter still queued.</remarks>
    /// <example><code>mu.Lock(); while (!ready) cond.Wait(ct); mu.Unlock();</code></example>
    public void Wait(CancellationToken cancellationToken = default)
    {
        var w = Waiter.RentBlocking(this, WaitReason.Cond, cancellationToken);
        Enqueue(w);
        bool woken = w.Block();
        w.Return();
        L.Lock(CancellationToken.None); // as in Go, the wait returns holding the lock, even when cancelled
        if (!woken) ThrowHelper.Canceled(cancellationToken);
    }

    /// <summary>Unlocks <see cref="L"/>, parks the calling goroutine or async method until woken, then locks <see cref="L"/> again.</summary>
    /// <param name="cancellationToken">Ends the wait early; <see cref="L"/> is locked again before the exception is thrown.</param>
    /// <returns>A <see cref="ValueTask"/> to await once; when it completes, in either way, <see cref="L"/> is held.</returns>
    /// <exception cref="SynchronizationLockException"><see cref="L"/> was not locked (thrown at once).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a wake-up (thrown when awaited, with <see cref="L"/> held).</exception>
    /// <example><code>await mu.LockAsync(); while (!ready) await cond.WaitAsync(ct); mu.Unlock();</code></example>
    public ValueTask WaitAsync(CancellationToken cancellationToken = default)
    {
        var w = Waiter.RentAsync(this, WaitReason.Cond, cancellationToken);
        var parker = Enqueue(w);
        if (parker is not null) w.DeferQueued(parker);
        else w.ArmCancellation();
        return Relock(w.WaitOnce());
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask Relock(ValueTask wait)
    {
        try
        {
            await wait;
        }
        finally
        {
            await L.LockAsync();
        }
    }

    /// <summary>Wakes the goroutine or thread that has waited longest, if any. Holding <see cref="L"/> is allowed, not required.</summary>
    /// <example><code>mu.Lock(); queue.Enqueue(x); cond.Signal(); mu.Unlock();</code></example>
    public void Signal()
    {
        _queue.Lock();
        var w = _queue.PopClaimed();
        if (w is not null && !w.TakeForWake()) w = null; // a detached park: its commit finds the Signal
        _queue.Unlock();
        w?.Wake();
    }

    /// <summary>Wakes every waiting goroutine and thread. Holding <see cref="L"/> is allowed, not required.</summary>
    /// <example><code>mu.Lock(); closed = true; cond.Broadcast(); mu.Unlock();</code></example>
    public void Broadcast()
    {
        var wake = new WakeList();
        _queue.Lock();
        while (_queue.PopClaimed() is { } w) wake.Add(w);
        _queue.Unlock();
        wake.WakeAll();
    }

    /// <summary>
    /// Queues <paramref name="w"/>, then unlocks L. Returns the goroutine whose step parks on the wait with a commit
    /// (the node is then queued Detached; the caller defers it), or null for an ordinary waiter.
    /// </summary>
    private Goroutine? Enqueue(Waiter w)
    {
        if (!IsHeld(L))
        {
            w.Return();
            ThrowHelper.NotLocked("Cond.Wait");
        }
        w.Prepare();
        var parker = w.DeferringGoroutine();
        w.Detached = parker is not null;
        _queue.Lock();
        _queue.PushBack(w);
        _queue.Unlock();
        try
        {
            L.Unlock();
        }
        catch
        {
            Withdraw(w);
            throw;
        }
        return parker;
    }

    /// <summary>Whether <paramref name="l"/> is held, for Weft's lockers; a locker of the user's own is trusted (see Withdraw).</summary>
    private static bool IsHeld(ILocker l) => l switch
    {
        Mutex m => m.IsLocked,
        RWMutex rw => (rw.State & RWMutex.Writer) != 0,
        RWMutex.ReadLocker r => r.Mutex.IsReadLocked,
        _ => true,
    };

    /// <summary>L.Unlock threw after <paramref name="w"/> queued: take it back out, or, if a Signal claimed it, absorb that wake-up and pass it on.</summary>
    private void Withdraw(Waiter w)
    {
        _queue.Lock();
        bool removed = _queue.Remove(w);
        _queue.Unlock();
        if (removed)
        {
            w.Return();
            return;
        }
        w.AbsorbWake();
        Signal();
    }

    ParkOutcome IWaitOwner.CommitPark(Waiter w, Goroutine? parked) => _queue.CommitDetached(w, parked);

    bool IWaitOwner.TryUncommit(Waiter w, Goroutine parked) => _queue.TryDetach(w, this, parked);

    void IWaitOwner.Cancel(Waiter w)
    {
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeCancelLock);
        _queue.Lock();
        _queue.Remove(w);
        _queue.Unlock();
    }
}
