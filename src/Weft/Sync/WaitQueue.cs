// WaitQueue — an intrusive FIFO of Waiter nodes with its own spin lock, embedded in each primitive.
//
// The lock is held for a few instructions (link, unlink, one CAS on the owner's state) and never while a waiter is
// woken or user code runs. Spinning beats a futex here: a holder is never descheduled on purpose, and parking the
// would-be locker would cost more than the whole critical section.
// Push-front exists for the mutex: a waiter that was woken and lost the race to a newcomer queues again at the
// front, as in Go, so it is next in line.

using System.Diagnostics;
using System.Runtime.CompilerServices;

using Weft.Runtime;

namespace Weft.Sync;

internal struct WaitQueue
{
    private Waiter? _head, _tail; // guarded by _lock
    private WordLock _lock;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Lock() => _lock.Enter();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Unlock() => _lock.Exit();

    public readonly bool IsEmpty => _head is null;

    public readonly Waiter? Head => _head;

    public void PushBack(Waiter w)
    {
        Debug.Assert(!w.Queued, "A waiter is in at most one queue.");
        w.Queued = true;
        w.Next = null;
        w.Prev = _tail;
        if (_tail is null) _head = w; else _tail.Next = w;
        _tail = w;
    }

    public void PushFront(Waiter w)
    {
        Debug.Assert(!w.Queued, "A waiter is in at most one queue.");
        w.Queued = true;
        w.Prev = null;
        w.Next = _head;
        if (_head is null) _tail = w; else _head.Prev = w;
        _head = w;
    }

    /// <summary>Unlinks <paramref name="w"/> if it is still queued here.</summary>
    public bool Remove(Waiter w)
    {
        if (!w.Queued) return false;
        if (w.Prev is null) _head = w.Next; else w.Prev.Next = w.Next;
        if (w.Next is null) _tail = w.Prev; else w.Next.Prev = w.Prev;
        w.Next = w.Prev = null;
        w.Queued = false;
        return true;
    }

    /// <summary>Unlinks and claims the first waiter that was not cancelled meanwhile; null if there is none.</summary>
    public Waiter? PopClaimed()
    {
        while (_head is { } w)
        {
            Remove(w);
            if (w.TryClaim()) return w;
        }
        return null;
    }
}

/// <summary>Waiters claimed under a queue lock, to be woken in order after it is released (STYLE 9).</summary>
internal struct WakeList
{
    private Waiter? _head, _tail;

    /// <summary>Appends a claimed waiter that is in no queue (its Next link is free).</summary>
    public void Add(Waiter w)
    {
        Debug.Assert(!w.Queued, "A waiter is woken only after it left its queue.");
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
            var next = w.Next; // read first: once woken, the node may be reused at once
            w.Next = null;
            w.Wake();
            w = next;
        }
    }
}
