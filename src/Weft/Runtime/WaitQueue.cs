// WaitQueue — the one intrusive FIFO of parked waiters (Go's waitq), shared by channels and Weft.Sync.
//
// Glossary
//   node       a ParkNode (Park.cs): a wait a goroutine can park on with a commit, which carries the two links and
//              the Queued flag this queue uses. Channels' Sudog and Sync's Waiter derive from it.
//   owner      the primitive whose lock guards the queue: a channel's lock, a Sync primitive's queue lock.
//
// The queue is only the list. Who may take a node (the claim) is the owner's business: a channel dequeues plain
// waiters as the claim and asks a select case's SelectCore; a Sync waiter is claimed by a CAS on its status. So the
// claim loops live beside their owners (SudogQueue in Channels/Waiters/Sudog.cs, LockedQueue in Sync/LockedQueue.cs), and
// the linking code exists once, here.
//
// Intrusive and doubly linked: a cancelled waiter, a losing select case or a claimed-back committed park leaves in
// O(1), and a queue costs no allocation. Front insertion exists for the mutex: a waiter that was woken and lost
// to a newcomer queues again at the front, as in Go.
//
// Invariants
//   * A node sits in at most one queue; Next/Prev/Queued are guarded by the lock of the queue's owner.
//   * Every member but IsEmpty requires that lock. IsEmpty may also be read racily (select's peek, a channel's
//     lock-free look): the head is written with a release store, so a racy reader sees null or a linked node, and
//     a stale answer costs one locked attempt.
//   * While a node is in no queue, its Next link is free: wake lists (Sync's WakeList) thread through it.
//
// Rejected: one queue per user with the claim built in (there were two, one in Channels and one in Sync, with the
// same linking code); a virtual TryClaim on the node (a virtual call on every dequeue of a channel hop); the links
// in a WaitNode class between ParkNode and its users (one more level in the class chain that ValueTask's `is Task`
// test walks on every await of a channel waiter: see Channels/Waiters/ReadyWaiter.cs).

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Runtime;

/// <summary>
/// An intrusive FIFO of <typeparamref name="TNode"/>, guarded by its owner's lock. A struct field of the owner, never copied.
/// </summary>
internal struct WaitQueue<TNode> where TNode : ParkNode
{
    private TNode? _head, _tail;

    /// <summary>Exact under the lock; may also be read racily, where a stale answer only costs a locked attempt.</summary>
    public readonly bool IsEmpty
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref Unsafe.AsRef(in _head)) is null;
    }

    /// <summary>The first node, or null. Caller holds the lock.</summary>
    public readonly TNode? Head => _head;

    /// <summary>Links <paramref name="node"/> at the back. Caller holds the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enqueue(TNode node)
    {
        Debug.Assert(!node.Queued, "A waiter sits in at most one queue.");
        node.Queued = true;
        node.Next = null;
        node.Prev = _tail;
        if (_tail is null) Volatile.Write(ref _head, node); // racy readers of IsEmpty see a linked node
        else _tail.Next = node;
        _tail = node;
    }

    /// <summary>Links <paramref name="node"/> at the front (a mutex waiter that lost its turn). Caller holds the lock.</summary>
    public void EnqueueFront(TNode node)
    {
        Debug.Assert(!node.Queued, "A waiter sits in at most one queue.");
        node.Queued = true;
        node.Prev = null;
        node.Next = _head;
        if (_head is null) _tail = node;
        else _head.Prev = node;
        Volatile.Write(ref _head, node);
    }

    /// <summary>Unlinks <paramref name="node"/> if it is still queued (here); false when someone already took it. Caller holds the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Remove(TNode node)
    {
        if (!node.Queued) return false;
        AssertContains(node);
        var next = node.Next;
        var prev = node.Prev;
        if (prev is null) Volatile.Write(ref _head, Unsafe.As<TNode?>(next));
        else prev.Next = next;
        if (next is null) _tail = Unsafe.As<TNode?>(prev);
        else next.Prev = prev;
        node.Next = node.Prev = null;
        node.Queued = false;
        return true;
    }

    /// <summary>Unlinks and returns the first node, or null. Caller holds the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TNode? Dequeue()
    {
        var node = _head;
        if (node is not null) Remove(node);
        return node;
    }

    /// <summary>Debug only: the node is in this queue (an owner with two queues must unlink from the right one).</summary>
    [Conditional("DEBUG")]
    private readonly void AssertContains(TNode node)
    {
        ParkNode? n = _head;
        while (n is not null && n != node) n = n.Next;
        Debug.Assert(n == node, "A waiter is removed from the queue that holds it.");
    }
}
