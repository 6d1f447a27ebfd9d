// Goroutine — the runtime's record of one goroutine (Go's g).
//
// Glossary
//   G        this record. Users never see it: no id, no handle, as in Go.
//   step     one run of the goroutine on an M: it drains the mailbox, running each continuation, until the
//            goroutine has nothing left to do and is parked again (awaiting) or finished.
//   mailbox  the continuations posted to this goroutine and not yet run: one inline slot plus an overflow queue.
//
// Why a goroutine is its own SynchronizationContext
//   A goroutine is an async method. Every `await` inside it captures SynchronizationContext.Current, which is this
//   record while it runs, so when a foreign operation (Task.Delay, a socket, HttpClient) completes, .NET calls Post
//   on this record and the continuation comes back to a Weft P instead of the .NET ThreadPool. Weft's own awaitables
//   (channels, sleep, sync) do the same without allocating: they see the record in OnCompleted and call Post
//   directly. One context per goroutine, rather than one per P, was chosen because it also serialises the
//   goroutine: if its code forks inner tasks that both resume, their continuations queue in one mailbox and run one
//   at a time, so a goroutine is never running on two Ms at once — the property Go users assume.
//
// Invariants
//   * A goroutine is Queued at most once: only the Post that moves it from Parked to Queued enqueues it.
//   * Only the M that dequeued it runs it (Queued -> Running, without the lock: see RunStep), and a step ends
//     with the mailbox empty (Running -> Parked) under the mailbox lock, which Deliver also takes, so a post either
//     lands before the check (and runs in this step) or sees Parked (and queues the goroutine).
//   * Death is a separate flag: the mailbox outlives the body.
//   * The mailbox is guarded by _lock, a spin lock held for a few instructions and never around user code.
//   * A goroutine is woken by exactly two protocols. Weft parks with a commit (Park.cs owns it): a step that parks
//     on its deferred wait (a channel operation, a select, a sleep, a Weft.Sync wait it started in the same step)
//     ends without the mailbox lock: it publishes RunParkedOnChan and commits the wait under the primitive's lock,
//     which then orders its completer after the park, so the completer readies it with plain stores
//     (Scheduler.ReadyCommitted stores RunResumed, as Go's ready() moves the status: the step starts with the park's
//     continuation, never touching the inline slot that posters fill under _lock).
//     Foreign completion posts (below, owned here): everything else arrives as mail.
//
// Foreign completion posts
//   A continuation for this goroutine that does not come from its committed park is posted (Post, Resume, Deliver):
//   a foreign await (Task.Delay, a socket, an inner task the goroutine forked) through the SynchronizationContext, and
//   every Weft wait that did not park with a commit (queued at once: cancellable, with a timeout case, the second
//   wait of a step, awaited by another goroutine), whose completer dispatches here after Continuation's handshake.
//   The poster appends to the mailbox under _lock; a goroutine that finished its step with an empty mailbox
//   (RunParked) is queued by the post that finds it so, and only by that one. A post to a goroutine parked with a
//   commit (RunParkedOnChan) meets it through a full fence (Dekker, with the commit's lock acquisition) and claims
//   the park back (ClaimCommitted, under the primitive's lock); Park.cs gives the argument.
//
// Watching the body
//   The goroutine must learn when its body's Task completes (to leave the registry and report an exception). Hooking
//   every body at start costs a .NET continuation record on every live goroutine, the largest object a parked
//   goroutine owns after its record and its wait. Instead the hook is registered lazily, at the end of a step:
//   * if the step parks with a commit on a Weft wait that the body's own state machine awaits directly
//     (_bodyOnPark: the awaiter's state is the body's Task), the body cannot finish before that wait resumes it, and
//     a parked-on wait resumes only in a step of this goroutine, whose end looks again. No hook is needed;
//   * otherwise (the body finished in this step; it awaits a foreign Task, an inner async method, a Weft wait
//     through ConfigureAwait(false), or one queued at once, such as a cancellable receive), WatchBody finishes it now or registers the hook once (_watching), after which
//     the hook alone finishes it, exactly as before. A body that then completes on a pool thread posts the hook
//     back here, so Finish always runs on this goroutine, once.
//   So a goroutine parked where the body awaits a channel, a select, a sleep or a lock carries no hook.
//
// Rejected alternatives
//   * A lock-free mailbox on two fields (continuation, state): a reader can see the first without the second;
//     a one-word slot would need a tuple allocation per post. The spin lock is uncontended in practice.
//   * Hooking the body's Task at start: simplest, but every goroutine, parked or not, then carries .NET's
//     continuation record on its Task (see docs/performance.md, "parked").
//   * Pooling records after death: a continuation of a task the goroutine forked but never awaited can still be
//     posted after the goroutine's body returned, and it must not land in a stranger's mailbox.

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Runtime;

/// <summary>Where a goroutine is in its life, for diagnostics.</summary>
internal enum GoroutineState : byte
{
    Runnable,
    Running,
    Waiting,
    Dead,
}

/// <summary>What a waiting goroutine waits for, for diagnostics (Go's waitReason).</summary>
internal enum WaitReason : byte
{
    None,
    ChanReceive,
    ChanSend,
    Select,
    Sleep,
    Mutex,
    WaitGroup,
    Semaphore,
    Cond,
    Yield,
    WaitIdle,
    ForeignAwait,
    IpcRead,  // a descriptor's readiness through the netpoller (Netpoll.cs): never counts as deadlocked
    IpcWrite,
}

internal sealed class Goroutine : SynchronizationContext
{
    // The run word (RunWord) and its states. Owned here: the transitions under _lock (posts, the step's end) and the
    // step's own moves are this file's; the one written elsewhere is a committed park's wake, RunParkedOnChan ->
    // RunResumed, which Scheduler.ReadyCommitted makes as Go's ready() makes casgstatus(_Gwaiting, _Grunnable).
    private const int RunParked = 0;
    private const int RunQueued = 1;
    private const int RunRunning = 2;
    internal const int RunParkedOnChan = 3; // parked on a committed deferred wait (Park.cs): its completer wakes us without _lock
    internal const int RunResumed = 4;      // queued by a committed park's completer: the step starts with the park's continuation
    private const int RunQueuedToCommit = 5; // queued by its own step, whose commit yielded (ParkOutcome.Yield): the step starts with the commit

    private static long s_nextId;

    // Mailbox: guarded by _lock.
    private object? _cont; // an Action<object?> (Weft's awaitables) or a SendOrPostCallback (Post), run with _contState
    private object? _contState;
    private Queue<(object, object?)>? _overflow;
    private WordLock _lock;
    // Guarded by _lock, except RunParkedOnChan (stored by the step's end before its commit) and RunResumed (stored by
    // the committed park's completer, Scheduler.ReadyCommitted), which the primitive's lock orders instead (Park.cs).
    internal int RunWord;
    private bool _finished; // written once by the thread that finishes the body; see FinishWith
    private bool _yieldRequested; // guarded by _lock

    // The deferred wait this goroutine's step parks on (Park.cs): written by the goroutine itself while it runs
    // (TryRegisterPark, plain), read by its own step end and commit, by the completer of its committed park after the
    // primitive's lock ordered it after the commit, and by a poster's claim under the mailbox lock.
    private IParkSource? _parkSource;

    // One slot, two uses, touched only by the goroutine itself (and by a poster that claimed a committed park back,
    // under _lock, while the goroutine is parked):
    //   * _deferPending: the wait this step started without touching its primitive (Park.cs), to be
    //     queued under its primitive's lock at the step's end, after the step has parked;
    //   * otherwise, a spare node (a finished Channels.ChanWaiter of any element type) for the next deferred wait: a
    //     thread-static pool of a generic type costs a runtime helper call per access, on every ping-pong hop.
    //     Emptied into the thread's pool when the goroutine parks on anything else, so a
    //     parked goroutine holds no spare. One slot rather than two fields: 8 bytes on every goroutine record.
    private ParkNode? _node;
    private bool _deferPending;

    // The body's state argument until it starts (the body itself waits in _contState, as the argument of the start
    // continuation, so it needs no field of its own); from its start on, the body's Task while it runs (see
    // "Watching the body"). _watching is set once its completion hook is registered.
    private object? _bodyState;
    private bool _watching;   // written by the goroutine itself, at a step's end
    private bool _bodyOnPark; // the body itself awaits _parkSource: written with it (TryRegisterPark), read only while it is set

    /// <summary>Link for the global run queue; guarded by the global queue's lock.</summary>
    internal Goroutine? SchedLink;

    /// <summary>Link in the live-goroutine registry; guarded by the registry stripe's lock.</summary>
    internal Goroutine? RegNext;

    /// <summary>The deterministic-test bubble this goroutine belongs to, or null; set before it is first queued.</summary>
    internal SynctestBubble? Bubble;

    /// <summary>
    /// Diagnostic number, never shown to goroutine code. Assigned on first use (a dump, an unhandled exception) and
    /// kept in a side table rather than a field: most goroutines are never numbered, and a field would cost every
    /// record 8 bytes (the parked workload).
    /// </summary>
    internal long Id => s_ids.GetValue(this, static _ => new StrongBox<long>(Interlocked.Increment(ref s_nextId))).Value;

    private static readonly ConditionalWeakTable<Goroutine, StrongBox<long>> s_ids = new();

    /// <summary>Where <c>Go.Run</c> was called; constant strings from caller info, so capturing costs nothing.</summary>
    internal readonly string? File;
    internal readonly int Line;

    // Diagnostics: written under _lock at each transition (Reason also by the goroutine's own awaitables while
    // it runs); read racily by dumps, where a stale value only makes one line of a dump a moment old.
    internal GoroutineState State;
    internal WaitReason Reason;
    // When it last parked, in the low 32 bits of ParkClockMs (a coarse clock, cheap enough to read on every park):
    // 4 bytes rather than 8 on every record, and a wait of up to 24 days reads correctly through the wrap-around.
    private int _parkedAt;

    /// <summary>Records the park time. Called by the goroutine itself as it parks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NoteParkedNow() => _parkedAt = (int)ParkClockMs;

    /// <summary>For dumps, racily: how long it has been waiting at <paramref name="nowMs"/> (ParkClockMs' clock).</summary>
    internal long WaitedMs(long nowMs) => Math.Max(0, unchecked((int)nowMs - _parkedAt));

    /// <summary>The clock the park time is read from: the bubble's virtual one inside a bubble.</summary>
    private long ParkClockMs => Bubble is { } b ? b.NowMilliseconds : Sysmon.CoarseNowMs;

    internal Goroutine(Action<object?> start, object body, object? bodyState, string? file, int line)
    {
        _bodyState = bodyState;
        File = file;
        Line = line;
        _cont = start;
        _contState = body;
        RunWord = RunQueued;
        State = GoroutineState.Runnable;
    }

    /// <summary>The goroutine whose step the current thread is running, or null.</summary>
    internal static new Goroutine? Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => SynchronizationContext.Current as Goroutine;
    }

    // ---- SynchronizationContext -------------------------------------------------------------------------------

    /// <inheritdoc/>
    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        Deliver(d, state, yield: false);
    }

    /// <inheritdoc/>
    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("A goroutine's context does not support synchronous Send; use Post.");

    /// <inheritdoc/>
    public override SynchronizationContext CreateCopy() => this;


    // ---- Mailbox ----------------------------------------------------------------------------------------------

    /// <summary>The mailbox lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LockMailbox() => _lock.Enter();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UnlockMailbox() => _lock.Exit();

    /// <summary>
    /// Called by the goroutine itself, inside its step, from the OnCompleted of its deferred wait: the step will park
    /// on <paramref name="source"/> (Park.cs). False if it already has a park registered; the caller then falls back
    /// to a post.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryRegisterPark(IParkSource source, WaitReason reason, object? awaiterState)
    {
        if (_parkSource is not null) return false;
        _parkSource = source;
        _bodyOnPark = ReferenceEquals(awaiterState, _bodyState);
        Reason = reason;
        return true;
    }

    /// <summary>The wait this goroutine's step parks on (Park.cs), or null. A racy snapshot, for tests.</summary>
    internal object? ParkedOn => Volatile.Read(ref _parkSource);

    /// <summary>
    /// Racy, for a lock-free park under a channel lock: true if a post is waiting. Posters write the mailbox and then
    /// fence before they read the run state (Deliver), so a post this misses sees the park and claims it back.
    /// </summary>
    internal bool HasMail
    {
        get
        {
            ModelPoint.Here();
            return Volatile.Read(ref _cont) is not null || _overflow is { Count: > 0 };
        }
    }

    /// <summary>False while a deferred wait of this step is pending.</summary>
    internal bool CanDefer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => !_deferPending;
    }

    /// <summary>The goroutine's spare node, or null; take it with <see cref="DropSpare"/>.</summary>
    internal ParkNode? Spare
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _deferPending ? null : _node;
    }

    /// <summary>Empties the spare slot, after <see cref="Spare"/> returned the node the caller now uses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void DropSpare() => _node = null;

    /// <summary>Called by the goroutine itself: keeps <paramref name="node"/> as its spare if the slot is free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryStashSpare(ParkNode node)
    {
        if (_deferPending || _node is not null) return false;
        _node = node;
        return true;
    }

    /// <summary>Like <see cref="Defer"/> for the spare node itself, which stays in the slot as the deferred wait.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void DeferSpare()
    {
        Debug.Assert(!_deferPending && _node is not null, "The caller took the spare it defers (Spare).");
        _deferPending = true;
    }

    /// <summary>
    /// Called by the goroutine itself, after <see cref="CanDefer"/>: the wait <paramref name="wait"/> will be
    /// committed at the end of this step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Defer(ParkNode wait)
    {
        Debug.Assert(!_deferPending, "One deferred wait per step: the caller checks CanDefer.");
        if (_node is { } spare) DropSpareToPool(spare); // a spare of another element type
        _node = wait;
        _deferPending = true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DropSpareToPool(ParkNode spare)
    {
        _node = null;
        spare.ReturnToPool();
    }

    /// <summary>Called by the goroutine itself: true if <paramref name="wait"/> is its pending deferred wait.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool IsDeferred(object wait) => _deferPending && ReferenceEquals(_node, wait);

    /// <summary>Called by the goroutine itself: queues its pending deferred wait now, as an ordinary waiter.</summary>
    internal void CommitDeferredNow(ParkNode wait)
    {
        Debug.Assert(IsDeferred(wait), "Only the pending deferred wait is committed early.");
        _deferPending = false;
        _node = null;
        wait.CommitLoose();
    }

    /// <summary>
    /// Delivers a continuation to this goroutine and makes it runnable if it was parked. Callable from any thread.
    /// The continuation runs on a Weft P, never inline here, so a waker never runs the wakee's code under its lock.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Resume(Action<object?> continuation, object? state) => Deliver(continuation, state, yield: false);

    /// <summary>Like <see cref="Resume"/>, but the goroutine goes to the back of the global queue (Gosched).</summary>
    internal void ResumeYield(Action<object?> continuation, object? state) => Deliver(continuation, state, yield: true);

    private void Deliver(object continuation, object? state, bool yield)
    {
        bool enqueue;
        LockMailbox();
        if (_cont is null) { _cont = continuation; _contState = state; }
        else (_overflow ??= new Queue<(object, object?)>()).Enqueue((continuation, state));
        // The full fence pairs with the channel lock a lock-free park takes after publishing RunParkedOnChan
        // (Dekker): either that park sees this mail and does not park, or we see it parked and claim it back.
        Interlocked.MemoryBarrier();
        ModelPoint.Here();
        int run = Volatile.Read(ref RunWord);
        enqueue = run == RunParked || (run == RunParkedOnChan && ClaimCommitted());
        if (enqueue) { RunWord = RunQueued; State = GoroutineState.Runnable; }
        else if (yield && RunWord == RunRunning) _yieldRequested = true; // the step ends and requeues us at the back
        UnlockMailbox();
        if (!enqueue) return;
        if (yield) Scheduler.ReadyGlobal(this);
        else Scheduler.Ready(this);
    }

    /// <summary>
    /// Under the mailbox lock, a poster found the goroutine parked on a committed deferred wait: takes the wait
    /// back out of its primitive (under the primitive's lock). True if it was still queued: the poster then owns the wake-up, and
    /// the step it causes commits the wait again. False if a completer dequeued it first and will ready us.
    /// </summary>
    private bool ClaimCommitted()
    {
        ModelPoint.Here();
        if (Volatile.Read(ref _parkSource) is not ParkNode d || !d.TryUncommit(this)) return false;
        Defer(d); // the wait is this goroutine's deferred wait again, committed by the step the post causes
        return true;
    }

    /// <summary>Records why the goroutine is about to park. Called by a Weft awaitable from inside the goroutine.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void NoteParking(WaitReason reason)
    {
        Reason = reason;
    }

    /// <summary>Runs one step: every continuation in the mailbox, until it is empty. Called only by the M that dequeued it.</summary>
    internal void RunStep()
    {
        // No lock to start: a goroutine is queued only by the Deliver that moved it from Parked to Queued, after
        // filling the inline slot, and the run queue's release/acquire pair publishes that write to this M.
        // While Queued or Running, other posters only append; they write the inline slot only when they find it
        // empty, i.e. after the clear below. RunWord moves to Running with a release store; posters read it under
        // the lock and treat Queued and Running alike except for Yield, which only the running goroutine posts.
        Debug.Assert(Volatile.Read(ref RunWord) is RunQueued or RunResumed or RunQueuedToCommit, "Only a queued goroutine is dequeued and run.");
        object? cont;
        object? st;
        if (RunWord == RunResumed)
        {
            // Readied by the completer of a committed channel park: posters may be filling the inline slot under
            // the lock right now, so leave that to the loop below.
            (cont, st) = _parkSource!.Continuation.Parked;
            _parkSource = null;
        }
        else if (RunWord == RunQueuedToCommit)
        {
            // The last step yielded its park (ParkOutcome.Yield): this one starts with the commit (the loop below runs
            // no continuation first). Posters that came meanwhile found us queued and only appended.
            cont = null;
            st = null;
        }
        else if ((cont = _cont) is not null)
        {
            st = _contState;
            _contState = null;
            Volatile.Write(ref _cont, null);
        }
        else
        {
            LockMailbox();
            (cont, st) = _overflow!.Dequeue();
            UnlockMailbox();
        }
        ModelPoint.Here();
        Volatile.Write(ref RunWord, RunRunning);
        if (!_finished) State = GoroutineState.Running;
        Reason = WaitReason.None;

        // This goroutine is the thread's context for the step (every await in it captures the goroutine). It is left
        // in place when the step ends: the next step on this thread sets its own, and the M clears it before it runs
        // anything else (timers: TimerHeap.RunExpired; the bubble's loop after each step). Clearing it here cost a
        // thread-static access and a store on every hop.
        SynchronizationContext.SetSynchronizationContext(this);
        while (true)
        {
            if (cont is Action<object?> action) action(st);
            else if (cont is not null) Unsafe.As<SendOrPostCallback>(cont)(st);

            if (_deferPending)
            {
                var deferred = _node!;
                _deferPending = false;
                _node = null;
                if (!ReferenceEquals(deferred, _parkSource))
                {
                    // A wait this step started but did not park on: an ordinary waiter from now on.
                    deferred.CommitLoose();
                }
                else
                {
                    // The step parks on a wait not yet in its primitive: publish the park, then commit the
                    // wait under the primitive's lock (Park.cs). No mailbox lock.
                    if (BodyNeedsWatch(_parkSource)) WatchBody();
                    if (!_finished)
                    {
                        State = GoroutineState.Waiting;
                        NoteParkedNow();
                    }
                    ModelPoint.Here();
                    Volatile.Write(ref RunWord, RunParkedOnChan);
                    var outcome = deferred.CommitPark(this);
                    if (outcome == ParkOutcome.Parked) break; // the goroutine may already run elsewhere: touch nothing
                    if (outcome == ParkOutcome.Yield)
                    {
                        // Nothing was queued, so nobody can wake us: the wait stays our deferred park, and we go
                        // behind runnext. A poster that saw RunParkedOnChan found nothing to claim and left its mail,
                        // which the next step's commit sees (Mail); from the store below on, posters only append.
                        _node = deferred;
                        _deferPending = true;
                        LockMailbox();
                        ModelPoint.Here();
                        RunWord = RunQueuedToCommit;
                        if (!_finished) State = GoroutineState.Runnable;
                        UnlockMailbox();
                        Scheduler.ReadyBehindNext(this);
                        break;
                    }
                    // Not parked after all, and nobody else saw the wait queued: the goroutine is still ours.
                    ModelPoint.Here();
                    Volatile.Write(ref RunWord, RunRunning);
                    if (!_finished) State = GoroutineState.Running;
                    if (outcome == ParkOutcome.Completed)
                    {
                        ModelPoint.Here();
                        _parkSource = null;
                        (cont, st) = ((IParkSource)deferred).Continuation.Parked;
                        continue;
                    }
                    _node = deferred; // mail arrived first: run it below, then commit again
                    _deferPending = true;
                }
            }
        lockMailbox:
            LockMailbox();
            if (_yieldRequested)
            {
                _yieldRequested = false;
                RunWord = RunQueued;
                State = GoroutineState.Runnable;
                UnlockMailbox();
                Scheduler.ReadyGlobal(this);
                break;
            }
            cont = _cont;
            st = _contState;
            if (cont is null)
            {
                if (_overflow is { Count: > 0 } q)
                {
                    (cont, st) = q.Dequeue();
                }
                else
                {
                    Debug.Assert(!_deferPending, "A deferred park is committed without the mailbox lock, above.");
                    Debug.Assert(_parkSource is null, "Only a deferred wait is registered as the step's park, and its commit, above, settled it.");
                    if (BodyNeedsWatch(null))
                    {
                        // Outside the lock: finishing takes other locks, and the hook may post here at once.
                        UnlockMailbox();
                        WatchBody();
                        goto lockMailbox;
                    }
                    if (_node is { } spare) DropSpareToPool(spare);
                    RunWord = RunParked;
                    if (!_finished)
                    {
                        State = GoroutineState.Waiting;
                        if (Reason == WaitReason.None) Reason = WaitReason.ForeignAwait;
                        NoteParkedNow();
                    }
                    UnlockMailbox();
                    break;
                }
            }
            else
            {
                _cont = null;
                _contState = null;
            }
            UnlockMailbox();
        }
    }

    // ---- Body and completion ----------------------------------------------------------------------------------

    /// <summary>
    /// How a body is called, as the first continuation in a new goroutine's mailbox: one cached delegate per body
    /// shape (and per state type), so spawning allocates only the goroutine record and needs no type tests.
    /// </summary>
    // Each runs as the first continuation of its goroutine's first step, with the body as its argument; the step has
    // already made the goroutine the thread's context, so Current finds it.
    internal static readonly Action<object?> StartAction =
        static o => Current!.Start(o!, static (b, _) => { ((Action)b)(); return null; });

    internal static readonly Action<object?> StartFunc =
        static o => Current!.Start(o!, static (b, _) => ((Func<Task>)b)() ?? throw new InvalidOperationException("A goroutine's async body returned a null Task."));

    internal static class StartWithState<TState>
    {
        public static readonly Action<object?> Action =
            static o => Current!.Start(o!, static (b, s) => { ((Action<TState>)b)((TState)s!); return null; });

        public static readonly Action<object?> Func =
            static o => Current!.Start(o!, static (b, s) => ((Func<TState, Task>)b)((TState)s!) ?? throw new InvalidOperationException("A goroutine's async body returned a null Task."));
    }

    /// <summary>
    /// The first continuation of a goroutine whose spawner had an ExecutionContext to flow (ContextFlow): runs the
    /// body's own start inside that context.
    /// </summary>
    internal static readonly Action<object?> StartInContext = static o =>
    {
        var flowed = (FlowedStart)o!;
        Current!._bodyState = flowed.State;
        ExecutionContext.Run(flowed.Context, static s =>
        {
            var f = (FlowedStart)s!;
            f.Start(f.Body); // ExecutionContext.Run keeps the thread's SynchronizationContext: Current is still ours
        }, flowed);
    };

    /// <summary>What a goroutine started in its spawner's context holds as its body until it starts.</summary>
    internal sealed class FlowedStart(ExecutionContext context, Action<object?> start, object body, object? state)
    {
        public readonly ExecutionContext Context = context;
        public readonly Action<object?> Start = start;
        public readonly object Body = body;
        public readonly object? State = state;
    }

    /// <summary>
    /// A new goroutine record: started in the calling code's ExecutionContext when that carries anything and flow is
    /// on (ContextFlow), else plainly.
    /// </summary>
    internal static Goroutine Create(Action<object?> start, object body, object? state, string? file, int line) =>
        Create(start, body, state, file, line, ContextFlow.CaptureForSpawn());

    /// <summary>A new goroutine record that starts in <paramref name="context"/> (null: plainly).</summary>
    internal static Goroutine Create(Action<object?> start, object body, object? state, string? file, int line, ExecutionContext? context) =>
        context is null
            ? new Goroutine(start, body, state, file, line)
            : new Goroutine(StartInContext, new FlowedStart(context, start, body, state), null, file, line);

    private void Start(object body, Func<object, object?, Task?> call)
    {
        object? state = _bodyState;
        _bodyState = null;
        Task? task;
        try
        {
            task = call(body, state);
        }
        catch (Exception ex)
        {
            FinishWith(ex);
            return;
        }

        if (task is null)
        {
            FinishWith(null); // a synchronous body
        }
        else if (task.IsCompleted)
        {
            Finish(task);
        }
        else
        {
            // Not watched yet: the step's end decides whether the body needs its completion hook (WatchBody). The
            // body's first await registered its park before the body's Task existed for TryRegisterPark to compare.
            _bodyState = task;
            _bodyOnPark = _parkSource is { } park && ReferenceEquals(park.Continuation.AwaiterState, task);
        }
    }

    /// <summary>
    /// At a step's end, by the goroutine itself: true if the body is still unwatched and not suspended on
    /// <paramref name="park"/>, this step's own Weft park (see "Watching the body"). After the body's start,
    /// _bodyState is its Task or null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool BodyNeedsWatch(IParkSource? park) => !_watching && _bodyState is not null && (park is null || !_bodyOnPark);

    /// <summary>
    /// After <see cref="BodyNeedsWatch"/>: finishes the goroutine if its body is done, else registers the completion
    /// hook. The hook is a continuation on this goroutine's own context, like any await in it: .NET runs it inline
    /// when the body's last step completes the task on this goroutine, and posts it here when that step ran
    /// elsewhere (after ConfigureAwait(false)), or when the task completed while the hook was being registered.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WatchBody()
    {
        var body = (Task)_bodyState!;
        if (body.IsCompleted)
        {
            Finish(body);
            return;
        }
        _watching = true;
        var previous = SynchronizationContext.Current;
        if (!ReferenceEquals(previous, this)) SynchronizationContext.SetSynchronizationContext(this);
        body.GetAwaiter().UnsafeOnCompleted(s_onBodyCompleted);
        if (!ReferenceEquals(previous, this)) SynchronizationContext.SetSynchronizationContext(previous);
    }

    private static readonly Action s_onBodyCompleted = static () =>
    {
        var g = Current!;
        g.Finish((Task)g._bodyState!);
    };

    private void Finish(Task task)
    {
        _bodyState = null;
        FinishWith(task.IsFaulted
            ? (task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerException : task.Exception)
            : task.IsCanceled ? CancellationOf(task) : null);
    }

    /// <summary>
    /// The exception that cancelled <paramref name="task"/>: the body's own OperationCanceledException, with its
    /// stack trace and token, which a canceled task keeps and rethrows (an async method's builder cancels its task
    /// for any OperationCanceledException that escapes it).
    /// </summary>
    private static Exception CancellationOf(Task task)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException ex)
        {
            return ex;
        }
        return new TaskCanceledException(task);
    }

    private void FinishWith(Exception? error)
    {
        // Written by the thread that ran the body's last step: the M running this goroutine, which reads it again
        // under the mailbox lock when the step parks (or a ThreadPool thread after ConfigureAwait(false)).
        Volatile.Write(ref _finished, true);
        State = GoroutineState.Dead;
        Registry.Remove(this);
        Bubble?.OnFinished();
        // Every exception that escapes a body is unhandled, except a cancellation that was asked for: an
        // OperationCanceledException whose token is cancelled ends the goroutine quietly, as Task.Run ends Canceled
        // (not Faulted) for it. One without a cancelled token (thrown by hand, or a timeout) is a failure like any
        // other; a goroutine cannot tell it from a bug. The exception reported is the body's own, with its trace.
        if (error is null) return;
        if (Bubble is { } bubble) bubble.OnUnhandled(error, this); // the same rule, except for the bubble's body
        else if (!IsRequestedCancellation(error)) Go.OnUnhandled(error, this);
    }

    /// <summary>An OperationCanceledException whose token was cancelled: the goroutine stopped because it was asked to.</summary>
    internal static bool IsRequestedCancellation(Exception error) =>
        error is OperationCanceledException { CancellationToken.IsCancellationRequested: true };

    /// <summary>A goroutine left blocked in a bubble that ended: it will never run again, so it stops counting as live.</summary>
    internal void Abandon()
    {
        if (Volatile.Read(ref _finished)) return;
        Volatile.Write(ref _finished, true);
        State = GoroutineState.Dead;
        Registry.Remove(this);
    }

    /// <summary>
    /// True once the body has returned or thrown. A late post (a continuation of a task the body forked and never
    /// awaited) still runs on a P: the mailbox keeps working after death, only the bookkeeping is done.
    /// </summary>
    internal bool IsFinished => Volatile.Read(ref _finished);

    internal void DescribeTo(System.Text.StringBuilder sb, long nowMs)
    {
        sb.Append("goroutine ").Append(Id).Append(" [").Append(StateText(State));
        if (State == GoroutineState.Waiting)
        {
            sb.Append(", ").Append(ReasonText(Reason));
            if (Bubble is { } b) nowMs = b.NowMilliseconds;
            sb.Append(", ").Append(WaitedMs(nowMs)).Append(Bubble is null ? " ms" : " ms virtual");
        }
        sb.Append("]: created at ").Append(File ?? "?").Append(':').Append(Line).AppendLine();
    }

    internal static string StateText(GoroutineState state) => state switch
    {
        GoroutineState.Runnable => "runnable",
        GoroutineState.Running => "running",
        GoroutineState.Waiting => "waiting",
        _ => "dead",
    };

    internal static string ReasonText(WaitReason r) => r switch
    {
        WaitReason.ChanReceive => "chan receive",
        WaitReason.ChanSend => "chan send",
        WaitReason.Select => "select",
        WaitReason.Sleep => "sleep",
        WaitReason.Mutex => "mutex",
        WaitReason.WaitGroup => "wait group",
        WaitReason.Semaphore => "semaphore",
        WaitReason.Cond => "cond",
        WaitReason.Yield => "yield",
        WaitReason.WaitIdle => "bubble wait idle",
        WaitReason.ForeignAwait => "foreign await",
        WaitReason.IpcRead => "IO wait (read)",
        WaitReason.IpcWrite => "IO wait (write)",
        _ => "unknown",
    };
}
