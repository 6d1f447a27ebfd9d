// WaitGroup — Go's sync.WaitGroup: a counter, and waiters released when it reaches zero.
//
// Glossary
//   state    one long: the counter (high 32 bits, signed) | the waiters of this round (low 32 bits), as in Go. The
//            counter is changed by Interlocked.Add without a lock; the waiter count only under the queue lock.
//   round    the span from the counter leaving zero to the release of every waiter when it is back at zero.
//   release  done by the Add that brings the counter to zero with waiters registered: under the queue lock it
//            clears the waiter count (CAS counter 0|w -> 0) and unlinks every queued waiter; it wakes them after.
//
// Invariants (under the queue lock)
//   * waiters(state) == the number of queued nodes: a waiter registers (CAS) and queues in one
//     locked section, a canceller unlinks and unregisters in one, and the release clears both in one.
//   * A waiter registers only while the counter is not zero, by a CAS that checks the counter it registers against
//     (Adds do not take the lock), so no wake-up is lost: it either reads zero (its CAS came after the Add) or is
//     registered before the Add that brings the counter to zero, and queued before that Add's release looks.
//
// Parking a goroutine: an uncancellable WaitAsync in a goroutine parks with a commit (Runtime/Park.cs) in the shape
// Waiter.cs calls "queued at the call": the call registers and queues the node exactly as before, but Detached; the
// step's end commits it (released meanwhile, or committed), and the release that takes a committed node readies its
// goroutine with plain stores. A post claims the node back where it stands (TryUncommit): it stays registered in its
// round, so a release while the post runs still counts for it.
//
// Reuse: a group may be reused once its counter is back at zero. Starting a new round while the previous round's
// waiters are still registered (between the counter reaching zero and the release clearing them) is the misuse
// Go panics on ("WaitGroup is reused before previous Wait has returned"): the releaser could not tell the old
// round's waiters from a new round's, and would release the new ones early. Add detects it exactly as Go does —
// the counter went from 0 to delta while waiters are registered — undoes itself and throws.
// If that undo leaves the counter at zero with waiters registered (a Wait slipped in while the bad Add was
// visible), the undoing Add releases them itself; the releaser that sees a non-zero counter leaves the release to
// it (so does an Add that undoes a negative counter). Either way every waiter returns with the counter at zero.
// Rejected: Go's waiter-side check (panic in Wait if the state is not zero when it wakes). Here the release has
// already claimed the old waiters when it clears the state, so a later Add cannot hurt them; throwing in their Wait
// would punish a harmless ordering.

using System.Runtime.CompilerServices;
using Weft.Runtime;

namespace Weft.Sync;

/// <summary>
/// Waits for a collection of goroutines (or threads, or tasks) to finish (Go's <c>sync.WaitGroup</c>).
/// </summary>
/// <remarks>
/// Call <see cref="Add"/> before starting the work, <see cref="Done"/> when each piece ends, and <see cref="Wait"/> or
/// <see cref="WaitAsync"/> to wait for the counter to reach zero; or let <see cref="Go(Func{Task}, string, int)"/> do the bookkeeping. A group
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
    private const int CounterShift = 32;
    private const long WaiterMask = 0xFFFF_FFFFL;

    private long _state; // counter | waiters: see the file header for who writes which half
    private LockedQueue _queue;

    /// <summary>The current counter. A racy snapshot, for diagnostics.</summary>
    public int Count => Counter(Volatile.Read(ref _state));

    private static int Counter(long s) => (int)(s >> CounterShift);

    private static int Waiters(long s) => (int)(s & WaiterMask);

    /// <summary>How many wait, and whether the first is a goroutine's committed park (Runtime/Park.cs). A snapshot, for tests.</summary>
    internal (int Count, bool HeadCommitted) QueuedWaiters => _queue.Snapshot();

    /// <summary>The registered waiters of this round: a racy snapshot, for tests that must know a waiter has queued.</summary>
    internal int WaiterCountForTests() => Waiters(Volatile.Read(ref _state));

    /// <summary>Adds <paramref name="delta"/> (which may be negative) to the counter; at zero, every waiter is released.</summary>
    /// <param name="delta">How much to add.</param>
    /// <exception cref="InvalidOperationException">
    /// The counter would go negative; or a positive <paramref name="delta"/> starts a new round while the previous
    /// round's waiters are still being released (reuse before the previous Wait returned). The counter is left unchanged.
    /// </exception>
    /// <remarks>Add before starting the goroutine it accounts for, not inside it, or Wait may return too early.</remarks>
    /// <example><code>wg.Add(2); Go.Run(A); Go.Run(B);</code></example>
    public void Add(int delta)
    {
        if (AddCounter(delta)) Release();
    }

    /// <summary>The counting half of <see cref="Add"/>: true if the caller must then <see cref="Release"/> the waiters.</summary>
    internal bool AddCounter(int delta)
    {
        long d = (long)delta << CounterShift;
        long v = Interlocked.Add(ref _state, d);
        int counter = Counter(v);
        if (counter < 0)
        {
            // A releaser that saw the negative counter left the release to us (see "Reuse" in the file header).
            if (Undo(d)) Release();
            ThrowHelper.NegativeCounter();
        }
        if (delta > 0 && counter == delta && Waiters(v) != 0)
        {
            // 0 -> delta while the last round's waiters are registered: see "Reuse" in the file header.
            if (Undo(d)) Release();
            ThrowHelper.ReusedBeforeWaitReturned();
        }
        return counter == 0 && Waiters(v) != 0;
    }

    /// <summary>Takes back an Add that is about to throw; true if that leaves waiters to release.</summary>
    private bool Undo(long d)
    {
        long u = Interlocked.Add(ref _state, -d);
        return Counter(u) == 0 && Waiters(u) != 0;
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
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group is reused before the previous round's Wait returned (see <see cref="Add"/>); nothing is started.</exception>
    /// <remarks>An exception from <paramref name="body"/> is unhandled, as for <see cref="Weft.Go.Run(Func{Task}, string, int)"/>; Done is still called first.</remarks>
    /// <example><code>wg.Go(async () =&gt; await Work()); wg.Wait();</code></example>
    // Priority 1: an async lambda converts to both this and the ValueTask overload, and C# finds neither better (CS0121);
    // the priority settles it for Task. Priority only ranks overloads that apply, so a lambda that returns a ValueTask
    // (which no Func<Task> accepts) still binds to the ValueTask overload.
    [OverloadResolutionPriority(1)]
    public void Go(Func<Task> body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Add(1);
        Weft.Go.Run((Group: this, Body: body), static async s =>
        {
            try { await s.Body(); }
            finally { s.Group.Done(); }
        }, file, line);
    }

    /// <summary>
    /// Adds one to the counter and runs the <see cref="ValueTask"/>-returning <paramref name="body"/> to completion in a
    /// new goroutine that calls <see cref="Done"/> when it ends.
    /// </summary>
    /// <param name="body">The goroutine's code, e.g. <c>() =&gt; ch.SendAsync(x)</c>.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group is reused before the previous round's Wait returned (see <see cref="Add"/>); nothing is started.</exception>
    /// <remarks>As <see cref="Go(Func{Task}, string, int)"/>: Done is called when the task completes, and its exception is unhandled.</remarks>
    /// <example><code>wg.Go(() =&gt; results.SendAsync(42));</code></example>
    public void Go(Func<ValueTask> body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Add(1);
        Weft.Go.Run((Group: this, Body: body), static async s =>
        {
            try { await s.Body(); }
            finally { s.Group.Done(); }
        }, file, line);
    }

    /// <summary>
    /// Adds one to the counter and runs the synchronous <paramref name="body"/> in a new goroutine that calls
    /// <see cref="Done"/> when it returns (Go 1.25's <c>WaitGroup.Go(func())</c>).
    /// </summary>
    /// <param name="body">The goroutine's code.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group is reused before the previous round's Wait returned (see <see cref="Add"/>); nothing is started.</exception>
    /// <remarks>
    /// An <c>async</c> lambda or a lambda that returns a task never binds here: it picks the
    /// <see cref="Func{Task}"/> or <see cref="Func{ValueTask}"/> overload, whose task is awaited before Done.
    /// </remarks>
    /// <example><code>wg.Go(() =&gt; Interlocked.Increment(ref n));</code></example>
    public void Go(Action body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Add(1);
        Weft.Go.Run((Group: this, Body: body), static s =>
        {
            try { s.Body(); }
            finally { s.Group.Done(); }
        }, file, line);
    }

    /// <summary>Blocks the calling thread until the counter is zero.</summary>
    /// <param name="cancellationToken">Abandons the wait; the counter is not affected.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before the counter reached zero.</exception>
    /// <remarks>
    /// Inside a goroutine prefer <see cref="WaitAsync"/>: this blocks the thread (its processor is handed on meanwhile).
    /// A zero counter returns at once, even with a cancelled token.
    /// </remarks>
    /// <example><code>wg.Wait(ct);</code></example>
    public void Wait(CancellationToken cancellationToken = default)
    {
        if (Counter(Volatile.Read(ref _state)) == 0) return;
        if (cancellationToken.IsCancellationRequested) ThrowHelper.Canceled(cancellationToken);
        var w = Waiter.RentBlocking(this, WaitReason.WaitGroup, cancellationToken);
        w.Prepare();
        bool released = !Queue(w, detached: false) || w.Block();
        w.Return();
        if (!released) ThrowHelper.Canceled(cancellationToken);
    }

    /// <summary>Waits, parking only the calling goroutine or async method, until the counter is zero.</summary>
    /// <param name="cancellationToken">Abandons the wait; the counter is not affected.</param>
    /// <returns>A <see cref="ValueTask"/> to await once; already completed when the counter is zero.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled first (thrown when awaited).</exception>
    /// <example><code>await wg.WaitAsync(ct);</code></example>
    public ValueTask WaitAsync(CancellationToken cancellationToken = default)
    {
        if (Counter(Volatile.Read(ref _state)) == 0) return default;
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        var w = Waiter.RentAsync(this, WaitReason.WaitGroup, cancellationToken);
        w.Prepare();
        var parker = w.DeferringGoroutine();
        if (!Queue(w, parker is not null))
        {
            w.Return();
            return default;
        }
        if (parker is not null) w.DeferQueued(parker);
        else w.ArmCancellation();
        return w.WaitOnce();
    }

    /// <summary>
    /// Registers and queues <paramref name="w"/> (prepared; <paramref name="detached"/>: as its goroutine's deferred
    /// park) unless the counter is zero (read under the lock: see the file header).
    /// </summary>
    private bool Queue(Waiter w, bool detached)
    {
        w.Detached = detached;
        _queue.Lock();
        AssertInvariants();
        // A CAS, not a read and then an increment: Adds change the counter without the lock, and one that brought it
        // to zero between the two would see no waiter and release nobody, leaving this one queued for ever (Go's Wait
        // CASes for the same reason). The waiter count cannot overflow into the counter: 2^32 queued waiters do not
        // fit in memory.
        long s = Volatile.Read(ref _state);
        while (Counter(s) != 0)
        {
            long seen = Interlocked.CompareExchange(ref _state, s + 1, s);
            if (seen == s)
            {
                _queue.PushBack(w);
                _queue.Unlock();
                return true;
            }
            s = seen;
        }
        _queue.Unlock();
        return false;
    }

    /// <summary>
    /// The second half of an <see cref="Add"/> that brought the counter to zero with waiters registered: clears them
    /// and wakes them, unless a new round's Add got in first (that Add throws, undoes itself and releases instead).
    /// </summary>
    internal void Release()
    {
        var wake = new WakeList();
        _queue.Lock();
        AssertInvariants();
        long s = Volatile.Read(ref _state);
        while (Counter(s) == 0 && Waiters(s) != 0)
        {
            long seen = Interlocked.CompareExchange(ref _state, 0, s);
            if (seen == s)
            {
                while (_queue.PopClaimed() is { } w) wake.Add(w);
                break;
            }
            s = seen;
        }
        _queue.Unlock();
        wake.WakeAll();
    }

    ParkOutcome IWaitOwner.CommitPark(Waiter w, Goroutine? parked) => _queue.CommitDetached(w, parked);

    bool IWaitOwner.TryUncommit(Waiter w, Goroutine parked) => _queue.TryDetach(w, this, parked);

    void IWaitOwner.Cancel(Waiter w)
    {
        _queue.Lock();
        if (_queue.Remove(w)) Interlocked.Decrement(ref _state); // still registered: the release did not take it
        AssertInvariants();
        _queue.Unlock();
    }

    [System.Diagnostics.Conditional("DEBUG")]
    private void AssertInvariants() =>
        System.Diagnostics.Debug.Assert((Waiters(Volatile.Read(ref _state)) == 0) == _queue.IsEmpty,
            "The waiter count says whether the queue is empty; both change under the queue lock.");
}
