namespace Weft.Sync;

/// <summary>
/// Lets a test run code at a named window of a lock's slow path (on the thread that is in it), to force an
/// interleaving that a stress run meets only by chance: a state change between a failed fast path and the queue
/// lock, or a wake-up between a cancellation's claim and its unlink. Null outside such tests; the check is one
/// static read on slow paths only (never on a fast path).
/// </summary>
internal static class SyncTestHook
{
    /// <summary>Where the hook runs.</summary>
    internal enum Window
    {
        /// <summary>A waiter is about to take the queue lock to acquire or queue (Mutex, RWMutex, Semaphore).</summary>
        BeforeQueueLock,

        /// <summary>A canceller has claimed a waiter and is about to take the queue lock to unlink it.</summary>
        BeforeCancelLock,

        /// <summary>A mutex locker that set Woken while spinning was cancelled and is about to give Woken up.</summary>
        AbandonWoken,
    }

    /// <summary>Called with the primitive and the window; tests filter on the primitive they own.</summary>
    internal static Action<object, Window>? At;
}
