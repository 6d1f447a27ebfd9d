// RWMutex — Go's sync.RWMutex: many readers or one writer, and a pending writer blocks new readers.
//
// Glossary
//   state      one int: the number of active readers (low 29 bits) | Queued | Writer.
//   Writer     a writer holds the mutex, or has claimed it and waits for the active readers to drain. While it is
//              set, new readers queue: that is what keeps a stream of readers from starving a writer.
//   draining   the writer that set Writer and waits for the readers that were already in (_draining).
//   Queued     some reader or writer is in a queue; makes the writer's fast Unlock fail over to the slow path.
//
// Hand-over on writer Unlock (and when a draining writer is cancelled), under the lock: every queued reader is
// admitted at once (they arrived while the writer held on, so they go before the next writer: readers are not
// starved either), and the next queued writer, if any, sets Writer again and drains those readers.
//
// Fast paths (lock-free): RLock is one CAS readers+1 while Writer is clear; RUnlock one decrement; Lock a CAS
// 0 -> Writer; Unlock a CAS Writer -> 0. Every other transition happens under the queue lock, so a reader that
// queues (its CAS sets Queued and requires Writer) and the last RUnlock that finds a draining writer (it takes the
// lock and looks) cannot miss each other.
//
// Parking a goroutine: an uncancellable RLockAsync or LockAsync in a goroutine parks with a commit (Runtime/Park.cs)
// in the shape Waiter.cs calls "queued at the call": the call queues the node (or makes it the draining writer)
// exactly as before, so writer preference holds from the call on, but Detached; the step's end commits it
// (CommitPark: granted meanwhile, or committed), and the hand-over or last reader that takes a committed node readies
// its goroutine with plain stores. A post claims the node back where it stands (TryUncommit), so it keeps its place
// and any hand-over that reaches it while the post runs.
//
// Invariants
//   * Queued implies Writer: readers and writers queue only behind a writer, and a hand-over re-derives both bits.
//   * Active readers alongside Writer implies a draining writer.

using System.Diagnostics;
using Weft.Runtime;

namespace Weft.Sync;

/// <summary>
/// A reader/writer mutual-exclusion lock (Go's <c>sync.RWMutex</c>): any number of readers, or one writer.
/// </summary>
/// <remarks>
/// A writer waiting in <see cref="Lock"/> stops new readers from entering, so writers are not starved; readers that
/// queued behind a writer all enter when it unlocks, before the next writer. Not reentrant, not owned: a reader that
/// calls <see cref="RLock"/> again while a writer waits deadlocks, as in Go.
/// </remarks>
/// <example>
/// <code>
/// var rw = new RWMutex();
/// await rw.RLockAsync(); try { return cache[key]; } finally { rw.RUnlock(); }
/// </code>
/// </example>
public sealed class RWMutex : ILocker, IWaitOwner
{
    internal const int ReaderMask = (1 << 29) - 1, Queued = 1 << 29, Writer = 1 << 30;
    private const long ReaderKind = 0, WriterKind = 1; // Waiter.Weight

    private int _state;
    private LockedQueue _readers, _writers; // both guarded by _readers' lock (one lock for the pair)
    private Waiter? _draining; // guarded by _readers' lock
    private ReadLocker? _rlocker; // created on first use; racing creators make equivalent instances

    /// <summary>The state word (readers | Queued | Writer). A racy snapshot, for tests.</summary>
    internal int State => Volatile.Read(ref _state);

    /// <summary>
    /// Under the queue lock, for tests: how many readers and writers are queued, whether the first of each is a
    /// goroutine's committed park (Runtime/Park.cs), and whether a writer drains, committed or not.
    /// </summary>
    internal (int Readers, bool ReaderCommitted, int Writers, bool WriterCommitted, bool Draining, bool DrainingCommitted) Waiters
    {
        get
        {
            LockQueues();
            var (r, rc) = _readers.SnapshotLocked();
            var (w, wc) = _writers.SnapshotLocked();
            var d = _draining;
            UnlockQueues();
            return (r, rc, w, wc, d is not null, d is { Committed: true });
        }
    }

    /// <summary>True while some thread holds the queue lock: after any call returns, it must be false.</summary>
    internal bool IsQueueLockHeld => _readers.IsLockHeld;

    /// <summary>
    /// An <see cref="ILocker"/> over the read side (Go's <c>RLocker</c>): its Lock is <see cref="RLock"/>, its
    /// LockAsync <see cref="RLockAsync"/> and its Unlock <see cref="RUnlock"/>. The same instance every call.
    /// </summary>
    /// <returns>The read-side locker, for a <see cref="Cond"/> whose waiters hold read locks, say.</returns>
    /// <example><code>var cond = new Cond(rw.RLocker());</code></example>
    public ILocker RLocker() => _rlocker ??= new ReadLocker(this);

    /// <summary>True while at least one read lock is held. A racy snapshot, for Cond's misuse check and tests.</summary>
    internal bool IsReadLocked => (Volatile.Read(ref _state) & ReaderMask) != 0;

    internal sealed class ReadLocker(RWMutex rw) : ILocker
    {
        internal RWMutex Mutex => rw;

        public void Lock(CancellationToken cancellationToken = default) => rw.RLock(cancellationToken);

        public ValueTask LockAsync(CancellationToken cancellationToken = default) => rw.RLockAsync(cancellationToken);

        public void Unlock() => rw.RUnlock();
    }

    /// <summary>Takes a read lock, blocking the calling thread while a writer holds or waits for the mutex.</summary>
    /// <param name="cancellationToken">Abandons the wait; no lock is then held.</param>
    /// <exception cref="InvalidOperationException">More than 536,870,911 readers at once.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the read lock was taken; no lock is held.</exception>
    /// <remarks>Inside a goroutine prefer <see cref="RLockAsync"/>. A free read lock is taken even with a cancelled token.</remarks>
    /// <example><code>rw.RLock(ct); try { Read(); } finally { rw.RUnlock(); }</code></example>
    public void RLock(CancellationToken cancellationToken = default)
    {
        if (TryRLock()) return;
        WaitBlocking(writer: false, cancellationToken);
    }

    /// <summary>Takes a read lock, parking only the calling goroutine or async method while a writer holds or waits for the mutex.</summary>
    /// <param name="cancellationToken">Abandons the wait; no lock is then held.</param>
    /// <returns>A <see cref="ValueTask"/> to await once.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the read lock was taken (thrown when awaited).</exception>
    /// <example><code>await rw.RLockAsync(ct); try { Read(); } finally { rw.RUnlock(); }</code></example>
    public ValueTask RLockAsync(CancellationToken cancellationToken = default)
    {
        if (TryRLock()) return default;
        return Wait(writer: false, cancellationToken);
    }

    /// <summary>Takes a read lock if no writer holds or waits for the mutex.</summary>
    /// <returns>True if the read lock is now held.</returns>
    /// <example><code>if (rw.TryRLock()) { try { Read(); } finally { rw.RUnlock(); } }</code></example>
    public bool TryRLock()
    {
        int s = Volatile.Read(ref _state);
        while ((s & Writer) == 0)
        {
            if ((s & ReaderMask) == ReaderMask) throw new InvalidOperationException("An RWMutex supports at most 536,870,911 readers at once.");
            int seen = Interlocked.CompareExchange(ref _state, s + 1, s);
            if (seen == s) return true;
            s = seen;
        }
        return false;
    }

    /// <summary>Releases a read lock; the last reader out lets a waiting writer in.</summary>
    /// <exception cref="SynchronizationLockException">No read lock is held.</exception>
    /// <example><code>rw.RUnlock();</code></example>
    public void RUnlock()
    {
        ModelPoint.Here();
        int s = Interlocked.Decrement(ref _state);
        if (((s + 1) & ReaderMask) == 0)
        {
            Interlocked.Increment(ref _state);
            ThrowHelper.NotLocked("RUnlock");
        }
        if ((s & (Writer | ReaderMask)) == Writer) LastReaderOut();
    }

    /// <summary>Takes the write lock, blocking the calling thread until every reader and writer is out.</summary>
    /// <param name="cancellationToken">Abandons the wait; no lock is then held, and readers held back by this writer are let in.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before the write lock was taken; no lock is held.</exception>
    /// <remarks>From the moment it is called, new readers wait. Inside a goroutine prefer <see cref="LockAsync"/>. A free mutex is taken even with a cancelled token.</remarks>
    /// <example><code>rw.Lock(ct); try { Write(); } finally { rw.Unlock(); }</code></example>
    public void Lock(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Writer, 0) == 0) return;
        WaitBlocking(writer: true, cancellationToken);
    }

    /// <summary>Takes the write lock, parking only the calling goroutine or async method until every reader and writer is out.</summary>
    /// <param name="cancellationToken">Abandons the wait; readers held back by this writer are let in.</param>
    /// <returns>A <see cref="ValueTask"/> to await once.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the write lock was taken (thrown when awaited).</exception>
    /// <example><code>await rw.LockAsync(ct); try { Write(); } finally { rw.Unlock(); }</code></example>
    public ValueTask LockAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Writer, 0) == 0) return default;
        return Wait(writer: true, cancellationToken);
    }

    /// <summary>Takes the write lock if nobody holds the mutex or waits for it.</summary>
    /// <returns>True if the write lock is now held.</returns>
    /// <example><code>if (rw.TryLock()) { try { Write(); } finally { rw.Unlock(); } }</code></example>
    public bool TryLock() => Interlocked.CompareExchange(ref _state, Writer, 0) == 0;

    /// <summary>Releases the write lock: queued readers enter, then the next writer waits for them.</summary>
    /// <exception cref="SynchronizationLockException">The write lock is not held.</exception>
    /// <example><code>rw.Unlock();</code></example>
    public void Unlock()
    {
        ModelPoint.Here();
        if (Interlocked.CompareExchange(ref _state, 0, Writer) == Writer) return;
        var wake = new WakeList();
        LockQueues();
        if ((Volatile.Read(ref _state) & Writer) == 0 || _draining is not null)
        {
            UnlockQueues();
            ThrowHelper.NotLocked("Unlock");
        }
        HandOverLocked(ref wake);
        UnlockQueues();
        wake.WakeAll();
    }

    private ValueTask Wait(bool writer, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        var w = Waiter.RentAsync(this, WaitReason.Mutex, cancellationToken);
        w.Prepare();
        var parker = w.DeferringGoroutine();
        if (writer ? LockOrQueue(w, parker is not null) : RLockOrQueue(w, parker is not null))
        {
            w.Return();
            return default;
        }
        if (parker is not null) w.DeferQueued(parker);
        else w.ArmCancellation();
        return w.WaitOnce();
    }

    private void WaitBlocking(bool writer, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) ThrowHelper.Canceled(cancellationToken);
        var w = Waiter.RentBlocking(this, WaitReason.Mutex, cancellationToken);
        w.Prepare();
        bool acquired = (writer ? LockOrQueue(w, detached: false) : RLockOrQueue(w, detached: false)) || w.Block();
        w.Return();
        if (!acquired) ThrowHelper.Canceled(cancellationToken);
    }

    /// <summary>Takes a read lock, or queues <paramref name="w"/> (prepared; <paramref name="detached"/>: as its goroutine's deferred park).</summary>
    private bool RLockOrQueue(Waiter w, bool detached)
    {
        w.Weight = ReaderKind;
        w.Detached = detached;
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeQueueLock);
        LockQueues();
        int s = Volatile.Read(ref _state);
        while (true)
        {
            bool free = (s & Writer) == 0;
            int seen = Interlocked.CompareExchange(ref _state, free ? s + 1 : s | Queued, s);
            if (seen == s)
            {
                if (!free) _readers.PushBack(w);
                UnlockQueues();
                return free;
            }
            s = seen;
        }
    }

    /// <summary>Takes the write lock, or queues <paramref name="w"/> or makes it the draining writer (as <see cref="RLockOrQueue"/>).</summary>
    private bool LockOrQueue(Waiter w, bool detached)
    {
        w.Weight = WriterKind;
        w.Detached = detached;
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeQueueLock);
        LockQueues();
        int s = Volatile.Read(ref _state);
        while (true)
        {
            bool claim = (s & Writer) == 0;
            int seen = Interlocked.CompareExchange(ref _state, claim ? s | Writer : s | Queued, s);
            if (seen == s) break;
            s = seen;
        }
        bool acquired = false;
        if ((s & Writer) != 0) _writers.PushBack(w);
        else if ((s & ReaderMask) == 0) acquired = true;
        else _draining = w; // the last reader out wakes it
        UnlockQueues();
        return acquired;
    }

    private void LastReaderOut()
    {
        Waiter? w = null;
        LockQueues();
        if (_draining is { } d && (Volatile.Read(ref _state) & ReaderMask) == 0 && d.TryClaim())
        {
            _draining = null;
            if (d.TakeForWake()) w = d;
        }
        UnlockQueues();
        w?.Wake();
    }

    /// <summary>
    /// Under the lock, with the current writer gone (unlocked, or cancelled while draining): admits every queued
    /// reader, and makes the next queued writer the draining one (or the holder, if no reader is active).
    /// </summary>
    private void HandOverLocked(ref WakeList wake)
    {
        int admitted = 0;
        while (_readers.PopClaimed() is { } r)
        {
            wake.Add(r);
            admitted++;
        }
        var next = _writers.Head;
        if (next is not null) _writers.Remove(next);
        int bits = (next is not null ? Writer : 0) | (_writers.IsEmpty ? 0 : Queued);
        int s = Volatile.Read(ref _state), ns = 0; // = 0: assigned in the loop; the initializer lets mutation tools compile a mutated loop
        while (true)
        {
            ns = ((s & ReaderMask) + admitted) | bits;
            int seen = Interlocked.CompareExchange(ref _state, ns, s);
            if (seen == s) break;
            s = seen;
        }
        _draining = next;
        if (next is not null && (ns & ReaderMask) == 0 && next.TryClaim())
        {
            _draining = null;
            wake.Add(next);
        }
        // A next writer whose claim failed was cancelled: its Cancel finds it in _draining and hands over again.
        Debug.Assert((ns & Queued) == 0 || (ns & Writer) != 0, "Queued implies Writer: nobody queues behind a reader.");
    }

    /// <summary>Takes the one lock that guards both queues (and _draining, and every slow-path state change).</summary>
    private void LockQueues()
    {
        _readers.Lock();
        _writers.EnterBorrowed();
    }

    private void UnlockQueues()
    {
        _writers.ExitBorrowed();
        _readers.Unlock();
    }

    ParkOutcome IWaitOwner.CommitPark(Waiter w, Goroutine? parked)
    {
        LockQueues();
        var outcome = w.CommitDetached(parked);
        UnlockQueues();
        return outcome;
    }

    bool IWaitOwner.TryUncommit(Waiter w, Goroutine parked)
    {
        LockQueues();
        bool mine = w.TryDetach(parked, this, held: w.Queued || _draining == w);
        UnlockQueues();
        return mine;
    }

    void IWaitOwner.Cancel(Waiter w)
    {
        var wake = new WakeList();
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeCancelLock);
        LockQueues();
        if (_draining == w)
        {
            _draining = null;
            HandOverLocked(ref wake);
        }
        else
        {
            // Unlink it from its own queue: Remove trusts the caller about which queue holds the node.
            if (w.Weight == WriterKind) _writers.Remove(w); else _readers.Remove(w);
            if (_readers.IsEmpty && _writers.IsEmpty) Interlocked.And(ref _state, ~Queued);
        }
        UnlockQueues();
        wake.WakeAll();
    }
}
