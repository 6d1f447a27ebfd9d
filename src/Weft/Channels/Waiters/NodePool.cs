// NodePool — the per-thread free list behind the pooled waiter nodes (ChanWaiter, ReadyWaiter), linked through
// Sudog.WakeNext (free while a node is pooled). A node is returned by the thread that finished it, so the list is
// thread-local and needs no synchronisation; the bound keeps a burst of waiters from pinning memory forever.

namespace Weft.Channels;

internal static class NodePool<TNode> where TNode : Sudog
{
#pragma warning disable IDE1006 // [ThreadStatic] fields take the .NET runtime's t_ prefix, which the naming rules cannot express
    [ThreadStatic] private static TNode? t_free;
    [ThreadStatic] private static int t_count;
#pragma warning restore IDE1006

    /// <summary>A pooled node of this thread, or null.</summary>
    public static TNode? TryTake()
    {
        var node = t_free;
        if (node is null) return null;
        t_free = (TNode?)node.WakeNext;
        t_count--;
        node.WakeNext = null;
        return node;
    }

    /// <summary>Keeps <paramref name="node"/> for this thread's next wait, unless <paramref name="limit"/> are kept already.</summary>
    public static void Return(TNode node, int limit)
    {
        if (t_count >= limit) return;
        node.WakeNext = t_free;
        t_free = node;
        t_count++;
    }
}
