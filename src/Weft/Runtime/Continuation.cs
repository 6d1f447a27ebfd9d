// Continuation — how every Weft awaitable remembers who waits and resumes it (the part of the BCL's
// ManualResetValueTaskSourceCore that Weft must do differently).
//
// The difference that matters: when the awaiting code runs in a goroutine, SynchronizationContext.Current is the
// goroutine's record, and resuming means Goroutine.Resume — straight into the waker's runnext, no allocation.
// ManualResetValueTaskSourceCore would instead call SynchronizationContext.Post with a freshly allocated tuple.
// Code outside goroutines (plain async on the ThreadPool, a custom context, a TaskScheduler) resumes the way
// .NET would: the ThreadPool work item overload that takes (Action<object?>, state) allocates nothing either.
//
// Protocol (one wait at a time; the owner resets between waits):
//   awaiter: OnCompleted stores the scheduler and state, then publishes the continuation by CAS null -> c.
//   completer: after writing the result, CAS null -> Completed. Whoever comes second dispatches.
//   Both sides' CASes are full fences, so the dispatcher sees the state the other side wrote before its CAS.
//   The completer's last touch of the struct is that CAS (or, if the awaiter came first, the dispatch): an awaiter
//   that sees IsSignalled may Reset and wait again at once, so Signal must not read the struct after publishing.
//   (An earlier version set _signalled before the CAS, and a completer preempted between the two could dispatch
//   the next wait's continuation; a reused waiter then ran before its own completion.)
// Continuations always run asynchronously (never inline in the completer), so a waker that holds a channel lock
// never runs the wakee's code under it (STYLE 9).

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Weft.Runtime;

internal struct Continuation
{
    private static readonly Action<object?> s_completed = static _ => Debug.Fail("The completion sentinel is never invoked.");

    private Action<object?>? _continuation;
    private object? _state;
    private object? _scheduler;
    private ExecutionContext? _context;
    private bool _signalled;

    /// <summary>True once <see cref="Signal"/> ran (the result is available).</summary>
    public bool IsSignalled => Volatile.Read(ref _signalled) || ReferenceEquals(Volatile.Read(ref _continuation), s_completed);

    public void Reset()
    {
        _continuation = null;
        _state = null;
        _scheduler = null;
        _context = null;
        _signalled = false;
    }

    /// <summary>IValueTaskSource.OnCompleted: remembers where to resume. <paramref name="reason"/> is recorded on a goroutine.</summary>
    public void OnCompleted(Action<object?> continuation, object? state, ValueTaskSourceOnCompletedFlags flags, WaitReason reason)
    {
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0) _context = ExecutionContext.Capture();
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0)
        {
            var sc = SynchronizationContext.Current;
            if (sc is Goroutine g)
            {
                _scheduler = g;
                g.NoteParking(reason);
            }
            else if (sc is not null && sc.GetType() != typeof(SynchronizationContext))
            {
                _scheduler = sc;
            }
            else if (TaskScheduler.Current != TaskScheduler.Default)
            {
                _scheduler = TaskScheduler.Current;
            }
        }
        _state = state;
        var previous = Interlocked.CompareExchange(ref _continuation, continuation, null);
        if (previous is not null)
        {
            Debug.Assert(ReferenceEquals(previous, s_completed), "Only one continuation may wait on a Weft awaitable at a time.");
            if (!ReferenceEquals(previous, s_completed))
                throw new InvalidOperationException("A Weft ValueTask was awaited twice; a ValueTask may be awaited only once.");
            Dispatch(continuation, state);
        }
    }

    /// <summary>The completer, after writing the result: resumes the waiter if it is already waiting.</summary>
    public void Signal()
    {
        // Pairs with the awaiter's CAS in OnCompleted. If we win, the awaiter sees Completed (IsSignalled) and we
        // are done with the struct; if it won, it waits for this dispatch and cannot Reset before it.
        var c = Interlocked.CompareExchange(ref _continuation, s_completed, null);
        if (c is not null)
        {
            Debug.Assert(!ReferenceEquals(c, s_completed), "A Weft awaitable is completed once per wait.");
            Volatile.Write(ref _signalled, true); // before the dispatch that lets the awaiter read it
            Dispatch(c, _state);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Dispatch(Action<object?> c, object? state)
    {
        // The hot case first: a goroutine awaiting without a flowed ExecutionContext (async method builders
        // restore the context themselves). Goroutine is sealed, so the test is one method-table compare.
        if (_context is null && _scheduler is Goroutine g)
        {
            g.Resume(c, state);
            return;
        }
        DispatchSlow(c, state);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void DispatchSlow(Action<object?> c, object? state)
    {
        if (_context is { } ec)
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
        switch (_scheduler)
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
}
