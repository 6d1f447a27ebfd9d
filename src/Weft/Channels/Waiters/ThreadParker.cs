// ThreadParker — how a blocking (non-async) wait parks its OS thread: one reusable event per thread, set directly
// by the waker. Shared by the blocking forms of channels, select and Weft.Sync.
//
// Why not block on the async form (vt.AsTask().GetAwaiter().GetResult()): that allocates a Task per wait and wakes
// the thread through a ThreadPool work item that completes the Task, which then signals the thread; two hops and
// two allocations where one futex wake does. Here the waker calls Unpark, which is ManualResetEventSlim.Set: the
// parked thread is woken straight from the waker's thread (or sees the flag while it still spins).
//
// One event per thread is enough because a thread blocks in one wait at a time. The event is reused: Park resets it
// after the wake, and each wait has exactly one waker (the claimant, or the canceller that won the claim), so a set
// never leaks into the next wait. MRES.Set sets the flag before it pulses, so a waiter that saw the flag was woken
// by this wait's Set; a late pulse from that Set meeting the next wait is a spurious wake that Wait's loop absorbs.
//
// Inside a goroutine (Machine.Current is set) the block is announced to the scheduler as Go.Blocking does, so the
// processor is handed to another M at once rather than after sysmon's threshold; the goroutine records why it waits
// for dumps. Inside a bubble a blocking wait would stop the bubble's only thread, so it is refused (CheckNotInBubble).
//
// Rejected: a raw futex through P/Invoke (not portable, and MRES already spins then sleeps on a futex); a
// SemaphoreSlim (its Release takes a lock and can allocate a waiter node for async waiters).

using System.Diagnostics.CodeAnalysis;
using Weft.Runtime;

namespace Weft.Channels;

/// <summary>Parks and unparks one OS thread. Owner-only Park; Unpark from any thread, once per wait.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "One parker per thread, for the thread's lifetime: its event is never disposed on purpose.")]
internal sealed class ThreadParker
{
    /// <summary>How long Park spins before sleeping: a hand-off from a running peer often arrives within it.</summary>
    private const int SpinCount = 100;

#pragma warning disable IDE1006 // [ThreadStatic] fields take the .NET runtime's t_ prefix, which the naming rules cannot express
    [ThreadStatic] private static ThreadParker? t_current;
#pragma warning restore IDE1006

    private readonly ManualResetEventSlim _event = new(false, SpinCount);

    /// <summary>The calling thread's parker, created on first use.</summary>
    public static ThreadParker Current => t_current ??= new ThreadParker();

    /// <summary>
    /// Blocks the calling thread (which must own this parker) until <see cref="Unpark"/>. Inside a goroutine, hands the
    /// processor off for the duration and records <paramref name="reason"/>.
    /// </summary>
    public void Park(WaitReason reason)
    {
        var m = Machine.Current;
        if (m is not null)
        {
            Goroutine.Current?.NoteParking(reason);
            m.EnterBlocking();
        }
        _event.Wait();
        _event.Reset();
        m?.ExitBlocking();
    }

    /// <summary>Wakes the parked owner (or makes its next Park return at once). Called once per wait.</summary>
    public void Unpark() => _event.Set();

    /// <summary>Blocking forms call this before they would park: a bubble runs on one thread that must never block.</summary>
    public static void CheckNotInBubble()
    {
        if (SynctestBubble.Current is not null) InBubble();
    }

    [DoesNotReturn]
    private static void InBubble() => throw new InvalidOperationException(
        "A blocking channel operation would stop every goroutine of the bubble (they share one thread); use the async form (SendAsync, ReceiveAsync, WaitAsync) in a bubble.");
}
