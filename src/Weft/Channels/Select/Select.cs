// Select — Go's select statement as a reusable object: cases are added once, then WaitAsync picks one per call.
//
// Why this shape (the part of Weft users type most)
//   Go's select is a statement; C# has no syntax to add, so the choice was between
//     (a) a call per select taking case values, e.g. Select.Any(a.Recv(), b.Send(x)), returning an index and a
//         boxed or tuple value: every call builds case structs, results need a generic arity explosion or boxing;
//     (b) a fluent builder with a lambda per case: a closure (and usually a delegate) per case per select;
//     (c) this: a Select object that owns its cases. Each Add returns a typed case handle whose Value/Ok are read
//         after the wait, and whose Channel/Value can be changed between waits (a null channel disables the case,
//         exactly Go's idiom). The handles, the per-case wait nodes (Go's sudogs), the shared "done" word and the
//         awaitable all live as long as the Select, so a select in a loop allocates nothing, whatever its size.
//   WaitAsync returns the winning case's Index (registration order), so `switch` on constants reads like Go.
//
// Algorithm (Go's selectgo, with a lock-free first pass)
//   1. Shuffle the poll order (uniform choice among ready cases is a tested property).
//   2. Fast pass: for each case in poll order whose source Peeks ready, lock that one source and try it. A select
//      that finds a ready case takes one lock, like a plain send/receive (Go locks every channel here).
//   3. If nothing was ready: with a default, return it. Else arm timeouts, lock every distinct source in ascending
//      SelectId (the global lock order), try each case again in poll order, and if none completes enqueue one node
//      per case, in poll order, all sharing the SelectCore done word; unlock; register the cancellation token.
//      Enqueuing in poll order matters when two cases wait on one channel: the counterpart that comes takes the
//      first node queued, so registration order would always pick the case added first (Go queues in lock order,
//      ties broken by its shuffled poll order: for each channel the same random relative order as here).
//      In a goroutine, with a token that cannot be cancelled and no timeout or cancellation case, step 3 is not run
//      here: the wait is the goroutine's deferred park, and step 3 is its commit when the step ends
//      (CommitDeferred; the protocol is in Runtime/Park.cs). The done word stays shut from the deferral until the
//      commit reopens it under the locks, because a completer may still hold a node of the previous wait between
//      dequeuing it and its CAS; it holds that node's channel lock meanwhile, which the commit also takes.
//      Yield before parking: a deferred select whose goroutine just readied another into its P's runnext (which
//      runs the moment this step ends) does not commit at once: its commit yields (ParkOutcome.Yield), the goroutine
//      goes behind runnext, and its next step commits for real, without yielding again. Why: in a ping-pong where each
//      side sends and then selects, the pair settles at its start into one of two phases and stays there. Either the
//      plain sends park and each select finds its partner's sender already queued (no select ever parks), or each
//      select parks with the full step 3 and its partner's plain send completes it: every hop then pays the locks of
//      every source, a node per case and the losers' removal. A profile of the second phase showed the commit, the
//      lock order and the wake as its difference from the first. The yield lets the just-readied partner run first:
//      its send finds no select queued and parks plainly, and our second commit finds that sender and completes,
//      which puts the pair in the first phase. Go does not do this (its select-park pays the full step 3 per hop).
//      Rejected: yielding every parking select (a select loop that readies unrelated goroutines would pay a requeue
//      on each wait); yielding plain receives too (their park costs the same in both phases). The cost when the
//      partner never comes: one run-queue round trip and the lock-free check, once per park.
//   4. A completer claims the select by CAS on the done word, writes the result, and wakes the owner after
//      releasing its lock; a committed owner it readies with plain stores. The owner (SelectCore.GetResult ->
//      Finish) dequeues the losers one source at a time: a losing node that a completer meets first is skipped by
//      its CAS (SudogQueue.DequeueClaimed).
//
// Ownership: a Select is used by one goroutine (or thread) at a time, like a local variable; adding cases or
// waiting concurrently on one Select is an error. Everything here is written only by that owner, except the
// SelectCore done word and the case nodes' results (see SelectCore and Sudog). A wait claims _busy with one
// Interlocked.Exchange and releases it when it returns or throws, so a second concurrent waiter is always refused
// with InvalidOperationException: a plain check-then-set let two racing waiters both in, where they enqueued the same
// case nodes twice and one of them hung past its cancellation. Add checks _busy with a plain read: adding a case
// during a wait is refused when seen, not made atomic (Add is not a wait and has no waiter to hang); so is changing a
// case's channel or token.

using Weft.Channels;
using Weft.Runtime;

namespace Weft;

/// <summary>
/// Waits on several channel operations at once and performs exactly one (Go's <c>select</c>): any mix of receive and
/// send cases, an optional default, and timeouts. Among ready cases the choice is uniformly random. Build it once,
/// wait on it as often as you like: steady-state waits allocate nothing.
/// </summary>
/// <remarks>
/// A case whose channel is null is never ready (Go's nil channel). A send case on a closed channel, if chosen, makes
/// the wait throw <see cref="ChannelClosedException"/>. One Select serves one waiter at a time.
/// </remarks>
/// <example><code>
/// var sel = new Select();
/// var job = sel.Receive(jobs);
/// var quit = sel.Receive(done);
/// var slow = sel.Timeout(TimeSpan.FromSeconds(1));
/// while (true)
/// {
///     int i = await sel.WaitAsync();
///     if (i == job.Index) { if (!job.Ok) break; Handle(job.Value); }
///     else if (i == quit.Index) break;
///     else if (i == slow.Index) Console.WriteLine("idle for a second");
/// }
/// </code></example>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "Go's name for the statement, which C# users search for; VB callers can escape it as [Select].")]
public sealed partial class Select
{
    private SelectCase[] _cases = new SelectCase[4];
    private LockSlot[] _lockOrder = new LockSlot[4]; // struct slots: a store into SelectCase[] pays a covariance check (see LockAll)
    private int[] _pollOrder = new int[4];
    private int _count;
    private int _defaultIndex = -1;
    private bool _yielded;   // the last commit yielded (CommitDeferred): the next one parks for real; owner only
    private bool _hasHooks;  // a timeout or cancellation case: work before and after a wait blocks (BeforeBlock, AfterEnqueue, AfterBlock)
    private int _busy;       // 1 while a wait is in progress; claimed by Interlocked.Exchange (see Ownership above)
    private uint _rng;
    private SelectCase? _anchor; // a deferred wait's first source in lock order: where a poster's claim locks (TryUncommit)
    private readonly SelectCore _core;

    /// <summary>Creates an empty select. With no case added, <see cref="WaitAsync"/> blocks until cancelled (Go's <c>select {}</c>).</summary>
    public Select()
    {
        _core = new SelectCore(this);
        // In a bubble the choices come from the bubble's seed, so a seed replays which case won.
        _rng = (uint)(SynctestBubble.Current is { } bubble ? bubble.NextRandom(int.MaxValue) : Random.Shared.Next()) | 1;
    }

    /// <summary>True while a wait is in progress (read racily by the cases' setters).</summary>
    internal bool IsWaiting => Volatile.Read(ref _busy) != 0;

    /// <summary>The number of cases added, the default included.</summary>
    public int Count => _count;

    /// <summary>Adds a receive case (<c>case v, ok := &lt;-channel:</c>).</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="channel">The channel; null makes a case that is never ready (it can be set later).</param>
    /// <returns>The case: compare its <see cref="SelectCase.Index"/> with the wait's result, then read Value and Ok.</returns>
    /// <exception cref="InvalidOperationException">Called while a wait is in progress.</exception>
    /// <example><code>var msg = sel.Receive(messages);</code></example>
    public ReceiveCase<T> Receive<T>(Chan<T>? channel) => Add(new ReceiveCase<T>(_count, channel));

    /// <summary>Adds a receive case on a receive-only channel (<c>case v, ok := &lt;-channel:</c>).</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="channel">The channel; the default value (Go's nil channel) makes a case that is never ready.</param>
    /// <returns>The case. Its <see cref="ReceiveCase{T}.Channel"/> is the channel itself.</returns>
    /// <exception cref="InvalidOperationException">Called while a wait is in progress.</exception>
    /// <example><code>var tick = sel.Receive(ticks); // ticks: ReceiveOnlyChan&lt;DateTime&gt;</code></example>
    public ReceiveCase<T> Receive<T>(ReceiveOnlyChan<T> channel) => Receive(channel.Channel);

    /// <summary>Adds a send case on a send-only channel (<c>case channel &lt;- value:</c>).</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="channel">The channel; the default value (Go's nil channel) makes a case that is never ready.</param>
    /// <param name="value">The value to send; change it later through <see cref="SendCase{T}.Value"/>.</param>
    /// <returns>The case. Its <see cref="SendCase{T}.Channel"/> is the channel itself.</returns>
    /// <exception cref="InvalidOperationException">Called while a wait is in progress.</exception>
    /// <example><code>var put = sel.Send(output, item); // output: SendOnlyChan&lt;Item&gt;</code></example>
    public SendCase<T> Send<T>(SendOnlyChan<T> channel, T value) => Send(channel.Channel, value);

    /// <summary>Adds a send case (<c>case channel &lt;- value:</c>).</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="channel">The channel; null makes a case that is never ready.</param>
    /// <param name="value">The value to send; change it later through <see cref="SendCase{T}.Value"/>.</param>
    /// <returns>The case.</returns>
    /// <exception cref="InvalidOperationException">Called while a wait is in progress, or <paramref name="channel"/> is a timer channel.</exception>
    /// <example><code>var output = sel.Send(results, 0);</code></example>
    public SendCase<T> Send<T>(Chan<T>? channel, T value) => Add(new SendCase<T>(_count, channel, value));

    /// <summary>
    /// Adds a timeout case, ready once <paramref name="after"/> has passed since the start of each wait (Go's
    /// <c>case &lt;-time.After(after):</c>, without a new timer per wait). Its Value is the time it fired (UTC).
    /// </summary>
    /// <param name="after">How long each wait may block before this case wins.</param>
    /// <returns>The case.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="after"/> is negative.</exception>
    /// <example><code>var timeout = sel.Timeout(TimeSpan.FromMilliseconds(100));</code></example>
    public ReceiveCase<DateTime> Timeout(TimeSpan after)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(after, TimeSpan.Zero);
        var c = Add(new ReceiveCase<DateTime>(_count, Timer.CreateStopped(), after));
        _hasHooks = true;
        return c;
    }

    /// <summary>
    /// Adds a case that is ready once <paramref name="token"/> is cancelled (Go's <c>case &lt;-ctx.Done():</c>). The
    /// wait returns its index instead of throwing, so a loop can tell "cancelled" apart like any other case.
    /// </summary>
    /// <param name="token">The token; set <see cref="CancellationCase.Token"/> to change it between waits. A token that
    /// cannot be cancelled makes a case that is never ready (Go's nil channel).</param>
    /// <returns>The case.</returns>
    /// <exception cref="InvalidOperationException">Called while a wait is in progress.</exception>
    /// <remarks>
    /// A wait that blocks registers one callback on the token and disposes it when the wait ends; a
    /// <see cref="CancellationTokenSource"/> reuses its registration nodes, so a loop allocates nothing in steady state.
    /// Unlike the wait's own <c>cancellationToken</c> argument, a case reports cancellation as a result: a token already
    /// cancelled competes with the other ready cases, chosen at random like them.
    /// </remarks>
    /// <example><code>
    /// var jobs = sel.Receive(queue);
    /// var stop = sel.Cancellation(stoppingToken);
    /// while (await sel.WaitAsync() != stop.Index) Handle(jobs.Value);
    /// </code></example>
    public CancellationCase Cancellation(CancellationToken token)
    {
        var c = Add(new CancellationCase(_count, token));
        _hasHooks = true;
        return c;
    }

    /// <summary>Adds the default case: a wait that finds no case ready returns its index at once instead of blocking.</summary>
    /// <returns>The default case's index.</returns>
    /// <exception cref="InvalidOperationException">A default case was already added, or a wait is in progress.</exception>
    /// <example><code>int none = sel.Default(); if (await sel.WaitAsync() == none) DoSomethingElse();</code></example>
    public int Default()
    {
        if (_defaultIndex >= 0) throw new InvalidOperationException("A select has at most one default case.");
        _defaultIndex = Add(new DefaultCase(_count)).Index;
        return _defaultIndex;
    }

    private TCase Add<TCase>(TCase c) where TCase : SelectCase
    {
        if (Volatile.Read(ref _busy) != 0) throw new InvalidOperationException("Cases cannot be added while the select is waiting.");
        if (_count == _cases.Length)
        {
            Array.Resize(ref _cases, _count * 2);
            Array.Resize(ref _lockOrder, _count * 2);
            Array.Resize(ref _pollOrder, _count * 2);
        }
        c.Owner = this;
        _cases[_count++] = c;
        return c;
    }

    /// <summary>The default case: never active in a pass; returned when nothing is ready.</summary>
    private sealed class DefaultCase(int index) : SelectCase(index)
    {
        internal override bool IsActive => false;
        internal override long SelectId => 0;
        internal override void Lock() { }
        internal override void Unlock() { }
        internal override bool Peek() => false;
        internal override OpStatus TryLocked(out Sudog? wake) { wake = null; return OpStatus.NotReady; }
        internal override Sudog? EnqueueLocked(SelectCore core) => null;
        internal override void DequeueLocked() { }
        internal override void Dequeue() { }
    }
}
