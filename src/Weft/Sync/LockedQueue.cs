// LockedQueue — a Sync primitive's waiters: the runtime's wait queue (Runtime/WaitQueue.cs) with its own spin lock,
// embedded in each primitive, and the claim loop Sync needs (PopClaimed).
//
// The lock is held for a few instructions (link, unlink, one CAS on the owner's state) and never while a waiter is
// woken or user code runs. Spinning beats a futex here: a holder is never descheduled on purpose, and parking the
// would-be locker would cost more than the whole critical section.
// The linking is the runtime queue's; this struct adds the lock, Sync's claim (a CAS on the waiter's status) and
// the Debug check of who holds the lock. Push-front exists for the mutex: a waiter that was woken and lost the race
// to a newcomer queues again at the front, as in Go, so it is next in line.
// Every member but Lock/Unlock requires the lock. Debug builds check it: Lock records the holding thread, and each
// member asserts that the caller is that thread (WordLock alone cannot say who holds it), so an owner that forgets
// the lock fails the Debug test pass at once instead of corrupting a queue once in a million runs. Remove also
// checks, in Debug, that the node is in this queue: an owner with two queues (RWMutex) must pick the right one.

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

using Weft.Runtime;

namespace Weft.Sync;

internal struct LockedQueue
{
    private WaitQueue<Waiter> _queue; // guarded by _lock
    private WordLock _lock;
#if DEBUG
    private int _holder;   // the managed thread id holding the guarding lock, 0 when free (Debug only)
    private bool _borrowed; // guarded by another queue's lock, not _lock (Debug only; see EnterBorrowed)
#endif

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Lock()
    {
        _lock.Enter();
#if DEBUG
        Debug.Assert(_holder == 0, "A LockedQueue's lock was taken while its last holder is still recorded: a path unlocked it without Unlock.");
        _holder = Environment.CurrentManagedThreadId;
#endif
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Unlock()
    {
#if DEBUG
        AssertHeld();
        _holder = 0;
#endif
        _lock.Exit();
    }

    /// <summary>
    /// Debug only: this queue is guarded by another queue's lock, which the calling thread has just taken (RWMutex
    /// keeps its writers under its readers' lock). Pair with <see cref="ExitBorrowed"/> before that lock is released.
    /// </summary>
    [Conditional("DEBUG")]
    [SuppressMessage("Performance", "CA1822", Justification = "Uses instance state in Debug builds, where it checks the lock.")]
    public void EnterBorrowed()
    {
#if DEBUG
        Debug.Assert(_holder == 0, "A borrowed LockedQueue was entered while its last holder is still recorded: a path skipped ExitBorrowed.");
        _borrowed = true;
        _holder = Environment.CurrentManagedThreadId;
#endif
    }

    [Conditional("DEBUG")]
    [SuppressMessage("Performance", "CA1822", Justification = "Uses instance state in Debug builds, where it checks the lock.")]
    public void ExitBorrowed()
    {
#if DEBUG
        AssertHeld();
        _holder = 0;
#endif
    }

    /// <summary>True while some thread holds the lock; for tests that check a primitive never keeps it after returning.</summary>
    public readonly bool IsLockHeld => _lock.IsHeld;

    public readonly bool IsEmpty
    {
        get
        {
            AssertHeld();
            return _queue.IsEmpty;
        }
    }

    /// <summary>Takes the lock: how many waiters are queued, and whether the first is a goroutine's committed park. For tests.</summary>
    public (int Count, bool HeadCommitted) Snapshot()
    {
        Lock();
        var snapshot = SnapshotLocked();
        Unlock();
        return snapshot;
    }

    /// <summary>As <see cref="Snapshot"/>, with the guarding lock already held (RWMutex's writers). For tests.</summary>
    public readonly (int Count, bool HeadCommitted) SnapshotLocked()
    {
        AssertHeld();
        int count = 0;
        for (ParkNode? n = _queue.Head; n is not null; n = n.Next) count++;
        return (count, _queue.Head is { Committed: true });
    }

    /// <summary>A racy look without the lock: a stale answer must only cost a locked attempt.</summary>
    public readonly bool LooksEmpty => _queue.IsEmpty;

    public readonly Waiter? Head
    {
        get
        {
            AssertHeld();
            return _queue.Head;
        }
    }

    [Conditional("DEBUG")]
    [SuppressMessage("Performance", "CA1822", Justification = "Uses instance state in Debug builds, where it checks the lock.")]
    private readonly void AssertHeld()
    {
#if DEBUG
        Debug.Assert((_borrowed || _lock.IsHeld) && _holder == Environment.CurrentManagedThreadId,
            "A wait queue is read or changed only under its lock, by the thread that holds it.");
#endif
    }

    public void PushBack(Waiter w)
    {
        AssertHeld();
        _queue.Enqueue(w);
    }

    public void PushFront(Waiter w)
    {
        AssertHeld();
        _queue.EnqueueFront(w);
    }

    /// <summary>Unlinks <paramref name="w"/> if it is still queued here.</summary>
    public bool Remove(Waiter w)
    {
        AssertHeld();
        return _queue.Remove(w);
    }

    /// <summary>Takes the lock: the commit of a node queued here at the call (Waiter.CommitDetached).</summary>
    public ParkOutcome CommitDetached(Waiter w, Goroutine? parked)
    {
        Lock();
        var outcome = w.CommitDetached(parked);
        Unlock();
        return outcome;
    }

    /// <summary>Takes the lock: a poster's claim of a committed park queued here at the call (Waiter.TryDetach).</summary>
    public bool TryDetach(Waiter w, IWaitOwner owner, Goroutine parked)
    {
        Lock();
        bool mine = w.TryDetach(parked, owner, held: w.Queued);
        Unlock();
        return mine;
    }

    /// <summary>Unlinks and claims the first waiter that was not cancelled meanwhile; null if there is none.</summary>
    public Waiter? PopClaimed()
    {
        AssertHeld();
        while (_queue.Dequeue() is { } w)
        {
            if (w.TryClaim()) return w;
        }
        return null;
    }
}

/// <summary>Waiters claimed under a queue lock, to be woken in order after it is released (STYLE 9).</summary>
internal struct WakeList
{
    private Waiter? _head, _tail;

    /// <summary>
    /// Under the owner's queue lock: appends a claimed waiter that is in no queue (its Next link is free), unless it is
    /// a detached park, which is only marked granted (Waiter.TakeForWake).
    /// </summary>
    public void Add(Waiter w)
    {
        Debug.Assert(!w.Queued, "A waiter is woken only after it left its queue.");
        if (!w.TakeForWake()) return;
        w.Next = null;
        if (_tail is null) _head = w; else _tail.Next = w;
        _tail = w;
    }

    /// <summary>Wakes every waiter, in the order added. Call with no lock held.</summary>
    public readonly void WakeAll()
    {
        var w = _head;
        while (w is not null)
        {
            var next = (Waiter?)w.Next; // read first: once woken, the node may be reused at once
            w.Next = null;
            w.Wake();
            w = next;
        }
    }
}
