// WaitGroup — Go's sync.WaitGroup: a counter, and waiters released when it reaches zero.
//
// The counter is changed by Interlocked.Add; waiters queue under the WaitGroup's queue lock, and decide whether to
// queue by reading the counter under that lock. The Add that brings the counter to zero takes the same lock to
// release everyone. So a waiter either reads zero (its lock section came after the Add) or is in the queue when the
// releaser looks (its section came first): no wake-up is lost.
// Reuse: once the counter is back at zero the group may be Added to again. As in Go, starting a new round while
// waiters of the previous round are still being released is a race in the caller's code; here it can only release
// those waiters early, never lose one.

using Weft.Runtime;

namespace Weft.Sync;

/// <summary>
/// Waits for a collection of goroutines (or threads, or tasks) to finish (Go's <c>sync.WaitGroup</c>).
/// </summary>
/// <remarks>
/// Call <see cref="Add"/> before starting the work, <see cref="Done"/> when each piece ends, and <see cref="Wait"/> or
/// <see cref="WaitAsync"/> to wait for the counter to reach zero; or let <see cref="Go"/> do the bookkeeping. A group
/// can be reused once its counter is back at zero.
/// </remarks>
/// <example>
/// <code>
/// var wg = new WaitGroup();
/// foreach (var url in urls)
///     wg.Go(async () =&gt; await Fetch(url));
/// await wg.WaitAsync();
/// </code>
/// </example>
public sealed class WaitGroup : IWaitOwner
{
    private int _count; // changed by Interlocked; read under _queue's lock when deciding to wait
    private WaitQueue _queue;

    /// <summary>The current counter. A racy snapshot, for diagnostics.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds <paramref name="delta"/> (which may be negative) to the counter; at zero, every waiter is released.</summary>
    /// <param name="delta">How much to add.</param>
    /// <exception cref="InvalidOperationException">The counter would go negative; it is left unchanged.</exception>
    /// <remarks>Add before starting the goroutine it accounts for, not inside it, or Wait may return too early.</remarks>
    /// <example><code>wg.Add(2); Go.Run(A); Go.Run(B);</code></example>
    public void Add(int delta)
    {
        int v = Interlocked.Add(ref _count, delta);
        if (v < 0)
        {
            Interlocked.Add(ref _count, -delta);
            ThrowHelper.NegativeCounter();
        }
        if (v == 0 && delta != 0) ReleaseAll();
    }

    /// <summary>Decrements the counter by one.</summary>
    /// <exception cref="InvalidOperationException">The counter is already zero.</exception>
    /// <example><code>try { Work(); } finally { wg.Done(); }</code></example>
    public void Done() => Add(-1);

    /// <summary>
    /// Adds one to the counter and runs <paramref name="body"/> in a new goroutine that calls <see cref="Done"/> when it
    /// ends (Go 1.25's <c>WaitGroup.Go</c>).
    /// </summary>
    /// <param name="body">The goroutine's code.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <remarks>An exception from <paramref name="body"/> is unhandled, as for <see cref="Weft.Go.Run(Func{Task}, string, int)"/>; Done is still called first.</remarks>
    /// <example><code>wg.Go(async () =&gt; await Work()); wg.Wait();</code></example>
    public void Go(Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Add(1);
        Weft.Go.Run(async () =>
        {
            try { await body(); }
            finally { Done(); }
        });
    }

    /// <summary>Blocks the calling thread until the counter is zero.</summary>
    /// <remarks>Inside a goroutine prefer <see cref="WaitAsync"/>: this blocks the thread (its processor is handed on meanwhile). Not cancellable.</remarks>
    /// <example><code>wg.Wait();</code></example>
    public void Wait()
    {
        if (Volatile.Read(ref _count) == 0) return;
        var w = Waiter.RentBlocking(this, WaitReason.WaitGroup);
        if (Queue(w)) w.Block();
        w.Return();
    }

    /// <summary>Waits, parking only the calling goroutine or async method, until the counter is zero.</summary>
    /// <param name="cancellationToken">Abandons the wait; the counter is not affected.</param>
    /// <returns>A <see cref="ValueTask"/> to await once; already completed when the counter is zero.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled first (thrown when awaited).</exception>
    /// <example><code>await wg.WaitAsync(ct);</code></example>
    public ValueTask WaitAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _count) == 0) return default;
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        var w = Waiter.RentAsync(this, WaitReason.WaitGroup, cancellationToken);
        if (!Queue(w))
        {
            w.Return();
            return default;
        }
        w.ArmCancellation();
        return w.WaitOnce();
    }

    /// <summary>Queues <paramref name="w"/> unless the counter is zero (read under the lock: see the file header).</summary>
    private bool Queue(Waiter w)
    {
        w.Prepare();
        _queue.Lock();
        bool wait = Volatile.Read(ref _count) != 0;
        if (wait) _queue.PushBack(w);
        _queue.Unlock();
        return wait;
    }

    private void ReleaseAll()
    {
        var wake = new WakeList();
        _queue.Lock();
        while (_queue.PopClaimed() is { } w) wake.Add(w);
        _queue.Unlock();
        wake.WakeAll();
    }

    void IWaitOwner.Cancel(Waiter w)
    {
        _queue.Lock();
        _queue.Remove(w);
        _queue.Unlock();
    }
}
