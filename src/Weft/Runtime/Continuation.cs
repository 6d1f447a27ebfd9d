// Continuation — how every Weft awaitable remembers who waits and resumes it (the part of the BCL's
// ManualResetValueTaskSourceCore that Weft must do differently).
//
// The difference that matters: when the awaiting code runs in a goroutine, SynchronizationContext.Current is the
// goroutine's record, and resuming means Goroutine.Resume — straight into the waker's runnext, no allocation.
// ManualResetValueTaskSourceCore would instead call SynchronizationContext.Post with a freshly allocated tuple.
// Code outside goroutines (plain async on the ThreadPool, a custom context, a TaskScheduler) resumes the way
// .NET would: the ThreadPool work item overload that takes (Action<object?>, state) allocates nothing either.
//
// How a wait resumes its awaiter: one of the runtime's two protocols, picked once per await in OnCompleted.
//   * Weft parks with a commit (Park.cs): the awaiter is the owner goroutine's own step (its context, no flowed
//     ExecutionContext) and the awaitable is that step's deferred wait (Goroutine.IsDeferred). OnCompleted stores the
//     continuation with plain writes and registers the wait as the step's park (Goroutine.TryRegisterPark); the
//     commit at the step's end or its completer (CompleteCommitted) finishes it. No interlocked operation here.
//   * Foreign completion posts (Goroutine.cs, "Foreign completion posts"): every other await — a wait queued at once
//     (cancellable, with a timeout case, a second wait of one step), an awaitable awaited by another goroutine, by
//     plain async code or through ConfigureAwait(false). The completer posts the continuation to where the awaiter
//     asked to resume (Dispatch: the goroutine's mailbox, the ThreadPool, a context), after the handshake below
//     settles which side dispatches.
//
// The handshake, on one int word _word (Pending, Waiting, Completed; one wait at a time, Reset between waits):
//   awaiter: OnCompleted stores the continuation, its state and the scheduler (plain writes), then CAS
//            Pending -> Waiting. If the CAS finds Completed, the completer came first and the awaiter dispatches.
//   completer: after writing the result, exchange the word to Completed (Signal). If it held Waiting, the awaiter
//            came first and the completer dispatches, reading the fields the awaiter published before its CAS.
//   Both sides' interlocked operations are full fences, so whoever dispatches sees what the other side wrote.
//   The completer's last touch of the struct is the exchange when it came first: an awaiter that sees IsSignalled
//   may Reset and wait again at once. When the awaiter came first, nobody reads or resets the struct until the
//   dispatched continuation runs, so the completer may read the fields after its exchange.
//   Why an int word and not a CAS on the continuation reference (the first version): a reference CAS in .NET is a
//   runtime helper call with a checked write barrier; the int CAS and exchange are single inlined instructions.
//
// Invariant: a wait registered as its step's park (IsPrimary) is completed only by its commit (MarkCompleted) or by
// its committed park's completer (CompleteCommitted), never by Signal: its word stays Pending, so a Signal would
// dispatch nobody. Every primitive keeps it by completing a committed or deferred node only through those two.
//
// Rejected: the "owned" protocol that was here before issue 14 (an awaitable created in a goroutine and awaited by
// it, queued at once, with the goroutine's mailbox lock as the one arbiter between the awaiter's step end and the
// completer). It saved one interlocked operation per side on queued-at-once waits, but it was a third protocol,
// with its own step-end branch and its own wake path in Goroutine; every hot wait now parks with a commit instead,
// and the waits left queued at once (cancellable ones, timeouts) are not hot.
// Continuations always run asynchronously (never inline in the completer), so a waker that holds a channel lock
// never runs the wakee's code under it (STYLE 9).

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Weft.Runtime;

/// <summary>An awaitable whose continuation a goroutine can park on with a commit (Park.cs).</summary>
internal interface IParkSource
{
    /// <summary>The awaitable's continuation core.</summary>
    ref Continuation Continuation { get; }
}

internal struct Continuation
{
    private const int Pending = 0, Waiting = 1, Completed = 2;

    private Action<object?>? _continuation;
    private object? _state;
    // Where to resume, one field for two facts, because every parked goroutine's wait node carries this struct: null
    // (the ThreadPool), a Goroutine, a SynchronizationContext or a TaskScheduler; or, when the awaiter asked for its
    // ExecutionContext to flow (OnCompleted rather than UnsafeOnCompleted, which async methods never use), an
    // ExecutionContext, or a Flowed pair of both.
    private object? _scheduler;
    private Goroutine? _owner;
    private int _word;
    private bool _primary; // the owner itself awaits: its step parks here and it calls GetResult

    /// <summary>True once <see cref="Signal"/> ran (the result is available).</summary>
    public readonly bool IsSignalled => Volatile.Read(ref Unsafe.AsRef(in _word)) == Completed;

    /// <summary>The goroutine that created this wait, or null.</summary>
    public readonly Goroutine? Owner => _owner;

    /// <summary>True when the owner's step parks on this wait with a commit (so the owner's step calls GetResult).</summary>
    public readonly bool IsPrimary => _primary;

    public void Reset()
    {
        _owner = null;
        ResetKeepingOwner();
    }

    /// <summary>Resets for the next wait of the same owner (a goroutine's spare node): the owner stays.</summary>
    public void ResetKeepingOwner()
    {
        _continuation = null;
        _state = null;
        _scheduler = null;
        _word = Pending;
        _primary = false;
    }

    /// <summary>
    /// Names the goroutine that created this wait (null outside goroutines): the one whose step may park on it with a
    /// commit, and whom CompleteCommitted readies. Call after Reset and before the awaitable can be signalled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetOwner(Goroutine? owner) => _owner = owner;

    /// <summary>
    /// The state the awaiter passed with its continuation: for an async method awaiting this wait directly, its
    /// state machine box, which is the method's Task.
    /// </summary>
    internal readonly object? AwaiterState => _state;

    /// <summary>The continuation and its state, for the goroutine that parked on this awaitable and found it completed.</summary>
    internal readonly (Action<object?>, object?) Parked => (_continuation!, _state);

    /// <summary>Marks the result available without dispatching: the owner goroutine takes the continuation itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkCompleted() => Volatile.Write(ref _word, Completed);

    /// <summary>
    /// The completer of a committed park (Park.cs), which dequeued it under its primitive's lock: marks the result
    /// available and readies the parked owner with plain stores. The owner is read first: once readied it may reset.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CompleteCommitted()
    {
        var owner = _owner!;
        MarkCompleted();
        Scheduler.ReadyCommitted(owner);
    }

    /// <summary>
    /// The completer of a wait it took out of its primitive's queue under that lock, after the unlock. A committed
    /// park (<paramref name="committed"/>: the node's flag, set by the commit under the same lock) has this completer
    /// as its only party, so it clears the flag and readies the owner with plain stores (<see cref="CompleteCommitted"/>);
    /// any other wait is completed by the posting handshake (<see cref="Signal"/>). Channels call it on the node they
    /// dequeued directly (Chan.WakeAll), so the hand-off to a parked receiver goes from the channel to the scheduler here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Complete(ref bool committed)
    {
        if (committed)
        {
            committed = false;
            CompleteCommitted();
            return;
        }
        Signal();
    }

    /// <summary>IValueTaskSource.OnCompleted: remembers where to resume. <paramref name="reason"/> is recorded on a goroutine.</summary>
    public void OnCompleted(Action<object?> continuation, object? state, ValueTaskSourceOnCompletedFlags flags, WaitReason reason, IParkSource source)
    {
        if (_continuation is not null)
            throw new InvalidOperationException("A Weft ValueTask was awaited twice; a ValueTask may be awaited only once.");
        var owner = _owner;
        if (owner is not null
            && flags == ValueTaskSourceOnCompletedFlags.UseSchedulingContext
            && owner.IsDeferred(source)
            && ReferenceEquals(SynchronizationContext.Current, owner)
            && owner.TryRegisterPark(source, reason, state))
        {
            // The step parks on its deferred wait (Park.cs): plain writes, which the step's own end reads.
            _continuation = continuation;
            _state = state;
            _primary = true;
            return;
        }

        object? scheduler = null;
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0)
        {
            var sc = SynchronizationContext.Current;
            if (sc is Goroutine g)
            {
                scheduler = g;
                g.NoteParking(reason);
            }
            else if (sc is not null && sc.GetType() != typeof(SynchronizationContext))
            {
                scheduler = sc;
            }
            else if (TaskScheduler.Current != TaskScheduler.Default)
            {
                scheduler = TaskScheduler.Current;
            }
        }
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 && ExecutionContext.Capture() is { } ec)
            scheduler = scheduler is null ? ec : new Flowed(ec, scheduler);
        _scheduler = scheduler;
        _continuation = continuation;
        _state = state;
        int previous = Interlocked.CompareExchange(ref _word, Waiting, Pending);
        if (previous != Pending)
        {
            Debug.Assert(previous == Completed, "Only one continuation may wait on a Weft awaitable at a time.");
            Dispatch(continuation, state);
        }
    }

    /// <summary>
    /// The completer of a wait that is not a committed park, after writing the result: resumes the awaiter if it is
    /// already waiting (the handshake above).
    /// </summary>
    public void Signal()
    {
        Debug.Assert(!_primary || _word == Completed, "A wait its step parks on is completed by its commit or its committed park's completer, not by Signal.");
        // Pairs with the awaiter's CAS in OnCompleted. If we come first, the awaiter sees Completed (IsSignalled)
        // and we are done with the struct; if it came first, it waits for this dispatch and cannot Reset before it.
        int previous = Interlocked.Exchange(ref _word, Completed);
        if (previous == Waiting) Dispatch(_continuation!, _state);
        else Debug.Assert(previous == Pending, "A Weft awaitable is completed once per wait.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Dispatch(Action<object?> c, object? state)
    {
        // The hot case first: a goroutine awaiting without a flowed ExecutionContext (async method builders
        // restore the context themselves). Goroutine is sealed, so the test is one method-table compare.
        if (_scheduler is Goroutine g)
        {
            g.Resume(c, state);
            return;
        }
        DispatchSlow(c, state);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void DispatchSlow(Action<object?> c, object? state)
    {
        var scheduler = _scheduler;
        ExecutionContext? ec = null;
        if (scheduler is ExecutionContext alone) (ec, scheduler) = (alone, null);
        else if (scheduler is Flowed pair) (ec, scheduler) = (pair.Context, pair.Scheduler);
        if (ec is not null)
        {
            var inner = c;
            var innerState = state;
            c = static o =>
            {
                var (ec2, c2, s2) = ((ExecutionContext, Action<object?>, object?))o!;
                ExecutionContext.Run(ec2, static x => { var (cc, ss) = ((Action<object?>, object?))x!; cc(ss); }, (c2, s2));
            };
            state = (ec, inner, innerState);
        }
        switch (scheduler)
        {
            case Goroutine g:
                g.Resume(c, state);
                break;
            case null:
                ThreadPool.UnsafeQueueUserWorkItem(c, state, preferLocal: false);
                break;
            case SynchronizationContext sc:
                sc.Post(static o => { var (cc, ss) = ((Action<object?>, object?))o!; cc(ss); }, (c, state));
                break;
            case TaskScheduler ts:
                _ = Task.Factory.StartNew(static o => { var (cc, ss) = ((Action<object?>, object?))o!; cc(ss); }, (c, state),
                    CancellationToken.None, TaskCreationOptions.DenyChildAttach, ts);
                break;
        }
    }

    /// <summary>A flowed ExecutionContext together with a scheduler: the rare case that needs both (see _scheduler).</summary>
    private sealed class Flowed(ExecutionContext context, object scheduler)
    {
        public readonly ExecutionContext Context = context;
        public readonly object Scheduler = scheduler;
    }
}
