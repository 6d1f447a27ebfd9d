// Semaphore — a weighted semaphore (golang.org/x/sync/semaphore), FIFO so that a large request is not starved.
//
// State: _held (tokens out) and the FIFO of waiters, both guarded by the queue lock. The lock is held only for
// arithmetic and links, never while a waiter is woken.
// FIFO is strict: a request that does not fit blocks every request behind it, even smaller ones that would fit.
// That is what keeps a large Acquire(n) from waiting forever behind a stream of Acquire(1); the price is that
// small requests wait while the large one gathers its tokens. When the head is cancelled, the next ones may fit
// now, so cancellation grants them (x/sync does the same).
// Parking a goroutine: an uncancellable AcquireAsync in a goroutine that looks blocked parks with a commit
// (Runtime/Park.cs, see Mutex.cs): the step end grants it or queues it committed (CommitPark), and the Release that
// grants a committed node readies its goroutine with plain stores. A post to a goroutine parked here takes the node
// back out (TryUncommit) without granting the waiters behind it, because the claim runs under the goroutine's mailbox
// lock and must wake nobody; the head may then fit, which the commit that the post's step ends with repairs
// (GrantLocked before it queues), as does any Release before it. The node loses its FIFO place, as a claimed-back
// channel wait does.
// A weight of 0 is valid, as in Go: it takes no token, but keeps its FIFO place (granted at once only when nobody
// waits). A weight above the capacity is refused at the call (Go would park it until its context ends).

using Weft.Runtime;

namespace Weft.Sync;

/// <summary>
/// A weighted counting semaphore with FIFO waiters (Go's <c>golang.org/x/sync/semaphore</c>), usable from
/// goroutines, async code and threads.
/// </summary>
/// <remarks>
/// <para>
/// A weight of 0 is valid, as in Go: it is granted at once when nobody waits, and otherwise in its FIFO turn (it
/// needs no token, but does not overtake earlier waiters).
/// </para>
/// <para>
/// Where Weft differs from Go: a request for more than <see cref="Capacity"/> throws
/// <see cref="ArgumentOutOfRangeException"/> at the call, since it could never be granted; Go's
/// <c>Acquire</c> blocks until its context is done (and <c>TryAcquire</c> returns false). See docs/go-differences.md.
/// </para>
/// <para>
/// The name clashes with <see cref="System.Threading.Semaphore"/>; with both namespaces imported, alias it:
/// <c>using Semaphore = Weft.Sync.Semaphore;</c>.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var sem = new Weft.Sync.Semaphore(10); // at most 10 fetches at once
/// await sem.AcquireAsync();
/// try { await Fetch(url); } finally { sem.Release(); }
/// </code>
/// </example>
public sealed class Semaphore : IWaitOwner
{
    private readonly long _capacity;
    private long _held; // guarded by _queue's lock
    private LockedQueue _queue;

    /// <summary>How many wait, and whether the first is a goroutine's committed park (Runtime/Park.cs). A snapshot, for tests.</summary>
    internal (int Count, bool HeadCommitted) Waiters => _queue.Snapshot();

    /// <summary>True while some thread holds the queue lock: after any call returns, it must be false.</summary>
    internal bool IsQueueLockHeld => _queue.IsLockHeld;

    /// <summary>Creates a semaphore with <paramref name="capacity"/> tokens, all available.</summary>
    /// <param name="capacity">The total weight; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 1.</exception>
    /// <example><code>var sem = new Weft.Sync.Semaphore(4);</code></example>
    public Semaphore(long capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A semaphore's capacity must be at least 1.");
        _capacity = capacity;
    }

    /// <summary>The total weight given at construction.</summary>
    public long Capacity => _capacity;

    /// <summary>Tokens currently available. A racy snapshot, for diagnostics.</summary>
    public long Available => _capacity - Volatile.Read(ref _held);

    /// <summary>Acquires <paramref name="n"/> tokens, blocking the calling thread until they are available and every earlier waiter was served.</summary>
    /// <param name="n">Tokens to take, from 0 to <see cref="Capacity"/> (0 is granted at once unless others wait).</param>
    /// <param name="cancellationToken">Abandons the wait; no token is then held, and the waiters behind this one that now fit are granted.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative, or more than <see cref="Capacity"/> (such a request could never be granted; Go would block).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the tokens were granted (also when it already was on entry); nothing is held.</exception>
    /// <remarks>Inside a goroutine prefer <see cref="AcquireAsync"/>, which parks only the goroutine.</remarks>
    /// <example><code>sem.Acquire(3, ct); try { Work(); } finally { sem.Release(3); }</code></example>
    public void Acquire(long n = 1, CancellationToken cancellationToken = default)
    {
        CheckWeight(n);
        if (cancellationToken.IsCancellationRequested) ThrowHelper.Canceled(cancellationToken);
        var w = Waiter.RentBlocking(this, WaitReason.Semaphore, cancellationToken);
        bool granted = AcquireOrQueue(w, n) || w.Block();
        w.Return();
        if (!granted) ThrowHelper.Canceled(cancellationToken);
    }

    /// <summary>Acquires <paramref name="n"/> tokens, parking only the calling goroutine or async method until they are available and every earlier waiter was served.</summary>
    /// <param name="n">Tokens to take, from 0 to <see cref="Capacity"/> (0 is granted at once unless others wait).</param>
    /// <param name="cancellationToken">Abandons the wait; no token is then held.</param>
    /// <returns>A <see cref="ValueTask"/> to await once; already completed if the tokens were free.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative, or more than <see cref="Capacity"/> (thrown at once: such a request could never be granted; Go would block).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the tokens were granted (thrown when awaited).</exception>
    /// <example><code>await sem.AcquireAsync(1, ct); try { await Work(); } finally { sem.Release(); }</code></example>
    public ValueTask AcquireAsync(long n = 1, CancellationToken cancellationToken = default)
    {
        CheckWeight(n);
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        var w = Waiter.RentAsync(this, WaitReason.Semaphore, cancellationToken);
        // A racy look (a stale answer only moves the decision to the commit, which looks again under the lock).
        if ((!_queue.LooksEmpty || _capacity - Volatile.Read(ref _held) < n) && w.TryDefer())
        {
            w.Weight = n;
            return w.WaitOnce();
        }
        if (AcquireOrQueue(w, n))
        {
            w.Return();
            return default;
        }
        w.ArmCancellation();
        return w.WaitOnce();
    }

    /// <summary>Acquires <paramref name="n"/> tokens if they are free now and nobody waits.</summary>
    /// <param name="n">Tokens to take, from 0 to <see cref="Capacity"/> (0 is granted at once unless others wait).</param>
    /// <returns>True if the tokens are now held; false, at once, otherwise.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative, or more than <see cref="Capacity"/> (such a request could never be granted; Go would block).</exception>
    /// <example><code>if (sem.TryAcquire()) { try { Work(); } finally { sem.Release(); } }</code></example>
    public bool TryAcquire(long n = 1)
    {
        CheckWeight(n);
        _queue.Lock();
        bool ok = _queue.IsEmpty && _capacity - _held >= n;
        if (ok) _held += n;
        _queue.Unlock();
        return ok;
    }

    /// <summary>Gives back <paramref name="n"/> tokens and grants waiters, in FIFO order, as far as the tokens go.</summary>
    /// <param name="n">Tokens to return, at most the number held; 0 changes nothing.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative.</exception>
    /// <exception cref="SemaphoreFullException">More tokens would be returned than are held; nothing is changed.</exception>
    /// <example><code>sem.Release(3);</code></example>
    public void Release(long n = 1)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Release cannot return a negative number of tokens.");
        var wake = new WakeList();
        _queue.Lock();
        long held = _held;
        if (n > held)
        {
            _queue.Unlock();
            ThrowHelper.OverRelease(n, held);
        }
        _held = held - n;
        GrantLocked(ref wake);
        _queue.Unlock();
        wake.WakeAll();
    }

    private void CheckWeight(long n)
    {
        if (n < 0 || n > _capacity) ThrowHelper.Weight(nameof(n), n, _capacity);
    }

    private bool AcquireOrQueue(Waiter w, long n)
    {
        w.Prepare();
        w.Weight = n;
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeQueueLock);
        _queue.Lock();
        bool ok = _queue.IsEmpty && _capacity - _held >= n;
        if (ok) _held += n;
        else _queue.PushBack(w);
        _queue.Unlock();
        return ok;
    }

    /// <summary>Under the lock: grants waiters from the head while they fit; the first that does not fit stops the scan (FIFO).</summary>
    private void GrantLocked(ref WakeList wake)
    {
        while (_queue.Head is { } h && _capacity - _held >= h.Weight)
        {
            _queue.Remove(h);
            if (!h.TryClaim()) continue; // cancelled meanwhile: its canceller finds it unlinked
            _held += h.Weight;
            wake.Add(h);
        }
    }

    ParkOutcome IWaitOwner.CommitPark(Waiter w, Goroutine? parked)
    {
        var wake = new WakeList();
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeQueueLock);
        _queue.Lock();
        GrantLocked(ref wake); // a claimed-back head may have left waiters that fit (see the essay)
        ParkOutcome outcome;
        if (_queue.IsEmpty && _capacity - _held >= w.Weight)
        {
            _held += w.Weight;
            outcome = ParkOutcome.Completed;
        }
        else if (parked is not null && parked.HasMail)
        {
            outcome = ParkOutcome.Mail; // read after the lock's full fence, which pairs with the poster's (Park.cs)
        }
        else
        {
            w.Committed = parked is not null;
            _queue.PushBack(w);
            outcome = ParkOutcome.Parked;
        }
        _queue.Unlock();
        wake.WakeAll();
        return outcome;
    }

    bool IWaitOwner.TryUncommit(Waiter w, Goroutine parked)
    {
        _queue.Lock();
        bool mine = w.IsCommittedParkOf(parked, this) && _queue.Remove(w);
        if (mine) w.Committed = false;
        _queue.Unlock();
        return mine;
    }

    void IWaitOwner.Cancel(Waiter w)
    {
        var wake = new WakeList();
        SyncTestHook.At?.Invoke(this, SyncTestHook.Window.BeforeCancelLock);
        _queue.Lock();
        bool wasHead = _queue.Head == w;
        _queue.Remove(w);
        if (wasHead) GrantLocked(ref wake);
        _queue.Unlock();
        wake.WakeAll();
    }
}
