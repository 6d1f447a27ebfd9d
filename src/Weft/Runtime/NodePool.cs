// NodePool — where every pooled waiter node comes from and goes back to: channel waiters, select-free readiness
// waiters, Weft.Sync waiters, sleep nodes and the blocking forms' per-thread nodes (STYLE 10: waiting allocates
// nothing in steady state).
//
// Three places a finished node can wait for its next use, tried in this order by every user:
//   1. a spare slot of the primitive it waited on (a channel keeps one): Rent takes it under the primitive's lock,
//      Return fills it without the lock. The slot serves the common one-waiter-per-primitive case (ping-pong,
//      pipelines) without a thread-static access, which for a generic type is a runtime helper call.
//   2. the thread's free list: a bounded stack per thread and node type. A node goes back on the thread that
//      finished it, so the list needs no synchronisation; the bound keeps a burst of waiters from pinning memory.
//   3. a new node.
// The goroutine's spare (Goroutine.Spare, for deferred channel waits) is a fourth slot with the same policy; it lives
// in the goroutine record because only the goroutine itself touches it (Chan.Defer.cs).
// A blocking wait (a thread parked on its Parker) uses one node per thread and node type (ThreadNode): a thread
// blocks in one wait at a time, and it does not return before its node has left every queue, so the node is safe to
// reuse even for a cancellable wait (the registration is disposed, waiting out a running callback, first).
//
// Only uncancellable async waits are pooled: a cancellable one gets a fresh node, because its token's callback may
// run at any time, and a pooled node could by then serve another waiter.
//
// The spare slot's race: Take clears the slot under the primitive's lock; Return reads it and writes it without
// the lock. Two racing Returns may both see the slot empty and one node overwrites the other: that node is then
// collected, never handed out twice, because only the owner of a finished node returns it, and Take clears the slot
// under the lock, so no two Takes get one node.
//
// Rejected: one Stack<T> per thread per user (there were three such schemes, and a linked free list that needed a
// link field in every pooled type; sleep nodes are timer-heap entries and have none); a process-wide pool (a CAS
// per rent and return, and nodes moving between cores).

using System.Runtime.CompilerServices;

namespace Weft.Runtime;

/// <summary>The pooled nodes of type <typeparamref name="TNode"/>: a primitive's spare slot, then this thread's free list.</summary>
internal static class NodePool<TNode> where TNode : class
{
    /// <summary>This thread's nodes of this type. One thread-static object, so one runtime lookup per access.</summary>
    private sealed class Local
    {
        public TNode?[] Items = new TNode?[4];
        public int Count;
        public TNode? ThreadNode;
    }

#pragma warning disable IDE1006 // [ThreadStatic] fields take the .NET runtime's t_ prefix, which the naming rules cannot express
    [ThreadStatic] private static Local? t_local;
#pragma warning restore IDE1006

    /// <summary>A node from this thread's free list, or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TNode? TryTake()
    {
        var local = t_local;
        if (local is null || local.Count == 0) return null;
        int i = --local.Count;
        var node = local.Items[i];
        local.Items[i] = null;
        return node;
    }

    /// <summary>Keeps <paramref name="node"/> for this thread's next wait, unless <paramref name="limit"/> are kept already.</summary>
    public static void Return(TNode node, int limit)
    {
        var local = t_local ??= new Local();
        int n = local.Count;
        if (n >= limit) return;
        if (n == local.Items.Length) Array.Resize(ref local.Items, Math.Min(n * 2, limit));
        local.Items[n] = node;
        local.Count = n + 1;
    }

    /// <summary>Takes the node in a primitive's spare <paramref name="slot"/>, if any. Caller holds the primitive's lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TNode? TakeSpare(ref TNode? slot)
    {
        var node = slot;
        if (node is not null) slot = null;
        return node;
    }

    /// <summary>
    /// Gives a finished node back: to the primitive's spare <paramref name="slot"/> if it is empty (no lock needed,
    /// see the race above), else to this thread's free list.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Return(TNode node, ref TNode? slot, int limit)
    {
        if (Volatile.Read(ref slot) is null) Volatile.Write(ref slot, node);
        else Return(node, limit);
    }

    /// <summary>This thread's one node for blocking waits, or null before the thread's first; set it once.</summary>
    public static TNode? ThreadNode
    {
        get => t_local?.ThreadNode;
        set => (t_local ??= new Local()).ThreadNode = value;
    }
}
