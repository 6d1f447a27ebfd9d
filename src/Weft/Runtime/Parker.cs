// Parker — the one way a Weft thread sleeps until another thread wakes it (Go's note, notesleep/notewakeup): an idle
// M waiting for a P, sysmon between ticks, a bubble's loop waiting for a foreign completion, SchedTrace, and every
// blocking wait (Send, Receive, Select.Wait, Mutex.Lock, WaitGroup.Wait...), which parks its own thread on the
// thread's parker (Current).
//
// A binary semaphore: an Unpark that arrives before the Park is remembered (the permit), so the lost wake-up
// between "decided to sleep" and "asleep" cannot happen. The Ms make that decision under the scheduler lock and the
// permit bridges the gap after it is released; a blocking wait queues its node under the primitive's lock and the
// permit bridges the gap until Park.
//
// Built on a ManualResetEventSlim plus the permit word. The event sleeps on a futex (a Monitor wait) and, for the
// blocking forms, spins first: a hand-off from a running peer often arrives within the spin, and the waker's Set
// then costs no kernel call. The permit carries the wake-up itself, so the event may be reset and set in any order:
//   Unpark: store the permit, then Set.   Park: take the permit (exchange); if none, Wait, Reset, and look again.
// If a Reset wipes out a Set, that Set's permit store came before it (Set and Reset are interlocked), so the look
// after the Reset sees the permit. A Set left over from a permit that was taken without waiting makes one later Wait
// return at once; the loop absorbs it.
//
// Inside a goroutine a blocking park is announced to the scheduler as Go.Blocking does, so the processor is handed to
// another M at once rather than after sysmon's threshold; the goroutine records why it waits for dumps. Inside a
// bubble a blocking wait would stop the bubble's only thread, so it is refused (CheckNotInBubble).
//
// Rejected: blocking on the async form (vt.AsTask().GetAwaiter().GetResult()): a Task per wait and a ThreadPool hop
// between the waker and the thread; a raw futex through P/Invoke (not portable, and the event already spins then
// sleeps on a futex); a SemaphoreSlim (its Release takes a lock and can allocate a node for async waiters); two
// parkers, a Monitor-and-permit one for the Ms and an event-per-thread one for the blocking forms (what there was).

using System.Diagnostics.CodeAnalysis;

namespace Weft.Runtime;

/// <summary>
/// A binary semaphore on which one thread sleeps until another thread unparks it or its deadline passes. Owner-only
/// Park; Unpark from any thread.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "A parker lives as long as its thread or M: its event is never disposed on purpose.")]
internal sealed class Parker
{
    /// <summary>How long a blocking wait spins before it sleeps: a hand-off from a running peer often arrives within it.</summary>
    private const int BlockingSpinCount = 100;

#pragma warning disable IDE1006 // [ThreadStatic] fields take the .NET runtime's t_ prefix, which the naming rules cannot express
    [ThreadStatic] private static Parker? t_current;
#pragma warning restore IDE1006

    private readonly ManualResetEventSlim _event;
    private int _permit; // 1 after an Unpark not yet consumed by a Park; exchanged, so every access is a full fence

    /// <summary>A parker that does not spin: for Ms, sysmon and the bubble's loop, which sleep for long.</summary>
    public Parker() : this(spinCount: 0) { }

    private Parker(int spinCount) => _event = new ManualResetEventSlim(false, spinCount);

    /// <summary>The calling thread's parker for blocking waits (it spins briefly before it sleeps), created on first use.</summary>
    public static Parker Current => t_current ??= new Parker(BlockingSpinCount);

    /// <summary>Sleeps until unparked or until <paramref name="deadline"/> (Clock ticks; Never = no deadline). True if unparked.</summary>
    public bool Park(long deadline)
    {
        while (true)
        {
            if (Interlocked.Exchange(ref _permit, 0) != 0) return true;
            int ms = Clock.MillisecondsUntil(deadline, Clock.Now);
            if (ms == 0) return false;
            _event.Wait(ms);
            _event.Reset();
        }
    }

    /// <summary>
    /// Blocks the calling thread (which must own this parker: <see cref="Current"/>) until <see cref="Unpark"/>.
    /// Inside a goroutine, hands the processor off for the duration and records <paramref name="reason"/>.
    /// </summary>
    public void Park(WaitReason reason)
    {
        var m = Machine.Current;
        if (m is not null)
        {
            Goroutine.Current?.NoteParking(reason);
            m.EnterBlocking();
        }
        Park(Clock.Never);
        m?.ExitBlocking();
    }

    /// <summary>Wakes the parked owner, or makes its next Park return at once.</summary>
    public void Unpark()
    {
        Volatile.Write(ref _permit, 1);
        _event.Set();
    }

    /// <summary>Blocking forms call this before they would park: a bubble runs on one thread that must never block.</summary>
    public static void CheckNotInBubble()
    {
        if (SynctestBubble.Current is not null) InBubble();
    }

    [DoesNotReturn]
    private static void InBubble() => throw new InvalidOperationException(
        "A blocking channel operation would stop every goroutine of the bubble (they share one thread); use the async form (SendAsync, ReceiveAsync, WaitAsync) in a bubble.");
}
