// Bubble — deterministic concurrency tests (Go 1.25's testing/synctest, plus seeds).
//
// Glossary
//   bubble          a private runtime: one thread that runs every goroutine started inside it, one at a time, with
//                   a virtual clock. Goroutines started by a bubble goroutine join its bubble.
//   durably blocked parked on a Weft primitive (channel, sleep, sync, WaitIdle) that only bubble code can wake. A
//                   goroutine parked on a foreign await (real I/O, a Task) is not: something outside may wake it.
//   idle            every goroutine in the bubble is durably blocked.
//
// The loop (RunLoop), one step at a time:
//   1. If any goroutine is runnable, pick one at random from the seeded generator and run one step of it.
//   2. Else, if a goroutine waits on a foreign await, block until something posts to the bubble. Time stands still.
//   3. Else (idle): first resume WaitIdle callers; otherwise jump the clock to the earliest timer and fire it;
//      otherwise the bubble is deadlocked: fail it with a dump of every goroutine.
// Because one thread makes every choice from one seeded generator (run order here, select's choice through
// Rand), the same seed replays the same interleaving, as long as the test does no real I/O.
//
// Rejected: running bubble goroutines on the real Ps with a flag (the order would depend on the OS scheduler, so
// seeds could not replay), and Go's approach of durable-blocking bookkeeping in every primitive (the park reason
// each primitive already records on its goroutine says the same thing, at no cost outside bubbles).

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Tasks.Sources;
using Weft.Runtime;

namespace Weft.Testing;

/// <summary>
/// A deterministic, virtual-time runtime for concurrency tests (Go's <c>testing/synctest</c>, with seeds). The body
/// and every goroutine it starts run one at a time on a private thread; the order, and every <c>select</c> choice,
/// comes from a seeded generator, so the same seed replays the same interleaving.
/// </summary>
/// <remarks>
/// <para>
/// Time is virtual: it starts at <see cref="Epoch"/> and jumps to the next timer when every goroutine in the bubble
/// is durably blocked (on channels, sleeps, sync primitives). <c>Go.Sleep</c>, <c>Go.After</c>, timers, tickers and
/// <see cref="TimeProvider"/> all use it, so a bubble that sleeps an hour finishes in milliseconds.
/// </para>
/// <para>
/// Foreign awaits (real I/O, <see cref="Task.Delay(int)"/>) are allowed; while one is pending, time stands still and
/// replays are no longer guaranteed. If every goroutine is durably blocked and no timer is pending, the bubble fails
/// with a <see cref="DeadlockException"/> that lists every goroutine, what it waits for and where it was started.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// await Bubble.Run(async bubble =>
/// {
///     var ch = new Chan&lt;int&gt;(0);
///     Go.Run(async () => { await Go.Sleep(TimeSpan.FromHours(1)); await ch.SendAsync(1); });
///     Assert.Equal(1, await ch.ReceiveAsync());
///     Assert.Equal(Bubble.Epoch + TimeSpan.FromHours(1), bubble.Now);   // instant in real time
/// }, seed: 42);
/// </code>
/// </example>
public sealed class Bubble
{
    /// <summary>Where every bubble's virtual clock starts: 2000-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [ThreadStatic] private static Bubble? t_current;

    private readonly Lock _lock = new();
    private readonly List<Goroutine> _runq = []; // guarded by _lock
    private readonly List<Goroutine> _members = []; // bubble thread only
    private readonly List<IdleWaiter> _idleWaiters = []; // bubble thread only
    private readonly Parker _parker = new();
    private readonly Random _random;
    private long _now; // virtual Clock ticks since Epoch; bubble thread only (read racily by dumps)
    private int _live; // members not finished; bubble thread only except OnFinished, which runs there too
    private Exception? _failure;
    private Goroutine? _root;
    internal int _providerTimers; // timers created through TimeProvider and not yet fired or disposed; bubble thread

    internal readonly TimerHeap Timers;

    private Bubble(int seed)
    {
        Seed = seed;
        _random = new Random(seed);
        Timers = new TimerHeap(static _ => { });
        TimeProvider = new BubbleTimeProvider(this);
    }

    /// <summary>The bubble the calling code runs in, or null outside bubbles.</summary>
    public static Bubble? Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_current;
    }

    /// <summary>The seed this bubble's choices come from.</summary>
    public int Seed { get; }

    /// <summary>The virtual time.</summary>
    public DateTimeOffset Now => Epoch + Clock.ToTimeSpan(Volatile.Read(ref _now));

    /// <summary>A <see cref="System.TimeProvider"/> on the virtual clock, for code under test that takes one.</summary>
    public TimeProvider TimeProvider { get; }

    internal long NowTicks => Volatile.Read(ref _now);

    internal long NowMilliseconds => (long)Clock.ToTimeSpan(Volatile.Read(ref _now)).TotalMilliseconds;

    /// <summary>A random choice in [0, n) from the bubble's seeded generator; bubble thread only.</summary>
    internal int NextRandom(int n) => _random.Next(n);

    /// <summary>
    /// Runs <paramref name="body"/> in a new bubble and completes when it and every goroutine it started have finished.
    /// </summary>
    /// <param name="body">The test body; it runs as a goroutine in the bubble and receives the bubble.</param>
    /// <param name="seed">Seeds run order and select choices. The same seed gives the same interleaving.</param>
    /// <param name="file">Filled in by the compiler: where the bubble was started, for dumps.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>A task that fails with the body's exception, the first unhandled goroutine exception, or a <see cref="DeadlockException"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <example><code>await Bubble.Run(async b => { await Go.Sleep(TimeSpan.FromDays(1)); }, seed: 7);</code></example>
    public static Task Run(Func<Bubble, Task> body, int seed = 0, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        var bubble = new Bubble(seed);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => bubble.RunLoop(body, done, file, line), RuntimeConfig.Current.StackSize)
        {
            IsBackground = true,
            Name = "weft-bubble-" + seed,
        };
        thread.UnsafeStart();
        return done.Task;
    }

    /// <inheritdoc cref="Run(Func{Bubble, Task}, int, string, int)"/>
    public static Task Run(Func<Task> body, int seed = 0, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Run(_ => body(), seed, file, line);
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a fresh bubble for each seed from <paramref name="firstSeed"/> on, and stops at
    /// the first failure with a <see cref="BubbleSeedException"/> that names the seed that reproduces it.
    /// </summary>
    /// <param name="body">The test body.</param>
    /// <param name="seeds">How many seeds to try (at least 1).</param>
    /// <param name="firstSeed">The first seed.</param>
    /// <returns>The number of seeds that passed (all of them, when it returns).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seeds"/> is less than 1.</exception>
    /// <exception cref="BubbleSeedException">A seed failed (thrown when awaited); <c>Seed</c> replays it.</exception>
    /// <example><code>await Bubble.Explore(async b => await RacyTransfer(), seeds: 1000);</code></example>
    public static async Task<int> Explore(Func<Bubble, Task> body, int seeds = 1000, int firstSeed = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        for (int i = 0; i < seeds; i++)
        {
            int seed = firstSeed + i;
            try
            {
                await Run(body, seed).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw new BubbleSeedException(seed, i + 1, ex);
            }
        }
        return seeds;
    }

    /// <summary>
    /// Waits until every other goroutine in this bubble is durably blocked (Go's <c>synctest.Wait</c>). Time does not
    /// move while it waits.
    /// </summary>
    /// <returns>A task that completes once the bubble is idle apart from the caller.</returns>
    /// <exception cref="InvalidOperationException">Called from outside this bubble.</exception>
    /// <example><code>Go.Run(async () => await ch.SendAsync(1)); await bubble.WaitIdleAsync(); Assert.Equal(1, ch.Len);</code></example>
    public ValueTask WaitIdleAsync()
    {
        if (Current != this) throw new InvalidOperationException("WaitIdleAsync must be called from a goroutine in this bubble.");
        var w = new IdleWaiter();
        _idleWaiters.Add(w);
        return new ValueTask(w, 0);
    }

    /// <summary>Throws if the caller is not in <paramref name="owner"/>: a bubble's objects are not for outside use.</summary>
    internal static void CheckAccess(Bubble? owner, string what)
    {
        if (owner is not null && Current != owner)
            throw new InvalidOperationException($"This {what} belongs to a Weft bubble (seed {owner.Seed}) and cannot be used from outside it.");
    }

    // ---- Runtime hooks (called by Go.Run, Scheduler.Ready, Goroutine) ----------------------------------------------

    internal void Adopt(Goroutine g)
    {
        g.Bubble = this;
        _members.Add(g);
        _live++;
    }

    internal void Enqueue(Goroutine g)
    {
        lock (_lock) _runq.Add(g);
        if (Current != this) _parker.Unpark(); // a foreign completion: wake the loop
    }

    internal void OnFinished() => _live--;

    internal void OnUnhandled(Exception error, Goroutine g)
    {
        if (g != _root && Goroutine.IsRequestedCancellation(error)) return; // as outside bubbles: see Go.UnhandledException
        _failure ??= g == _root ? error : new InvalidOperationException(
            $"An exception escaped goroutine {g.Id} in the bubble (seed {Seed}, started at {g.File ?? "?"}:{g.Line}).", error);
    }

    // ---- The loop ---------------------------------------------------------------------------------------------------

    private void RunLoop(Func<Bubble, Task> body, TaskCompletionSource done, string file, int line)
    {
        t_current = this;
        try
        {
            Func<Task> rootBody = () => body(this);
            _root = new Goroutine(Goroutine.StartFunc, rootBody, null, file.Length == 0 ? null : file, line);
            Adopt(_root);
            Registry.Add(_root);
            Enqueue(_root);

            while (true)
            {
                if (_failure is not null) break;
                Goroutine? g = null;
                lock (_lock)
                {
                    int n = _runq.Count;
                    if (n > 0)
                    {
                        int i = n == 1 ? 0 : _random.Next(n);
                        g = _runq[i];
                        _runq[i] = _runq[n - 1];
                        _runq.RemoveAt(n - 1);
                    }
                }
                if (g is not null)
                {
                    try
                    {
                        g.RunStep();
                    }
                    finally
                    {
                        // RunStep leaves the goroutine as this thread's context; the bubble's own code runs without.
                        SynchronizationContext.SetSynchronizationContext(null);
                    }
                    continue;
                }
                if (_live == 0) break;
                if (ForeignWorkPending())
                {
                    // Time stands still while real I/O is pending. One exception: code that waits through the
                    // bubble's TimeProvider (Task.Delay(d, provider)) looks like a foreign await, but only the
                    // virtual clock can end it; if nothing arrives for a while and such a timer is pending, let
                    // the clock move to it.
                    if (_parker.Park(Clock.Now + Clock.FromTimeSpan(TimeSpan.FromMilliseconds(50))) || _providerTimers == 0) continue;
                }
                else if (_idleWaiters.Count > 0)
                {
                    var waiters = _idleWaiters.ToArray();
                    _idleWaiters.Clear();
                    foreach (var w in waiters) w.Complete();
                    continue;
                }
                long next = Timers.NextWhen;
                if (next != Clock.Never)
                {
                    if (next > _now) Volatile.Write(ref _now, next);
                    Timers.RunExpired(_now);
                    continue;
                }
                _failure = new DeadlockException(Seed, Describe(_root.IsFinished
                    ? "the bubble's body returned, but its other goroutines are all blocked and no timer is pending"
                    : "every goroutine in the bubble is blocked and no timer is pending"));
                break;
            }
        }
        catch (Exception ex)
        {
            _failure ??= ex;
        }
        finally
        {
            t_current = null;
        }
        // Goroutines left blocked in a failed bubble are abandoned: their records leave the live count.
        foreach (var m in _members) if (!m.IsFinished) m.Abandon();
        if (_failure is null) done.SetResult();
        else done.SetException(_failure);
    }

    private bool ForeignWorkPending()
    {
        foreach (var g in _members)
        {
            if (g.IsFinished) continue;
            if (g.State != GoroutineState.Waiting || g.Reason == WaitReason.ForeignAwait) return true;
        }
        return false;
    }

    private string Describe(string headline)
    {
        var sb = new StringBuilder();
        sb.Append("deadlock in bubble (seed ").Append(Seed).Append(", virtual time ").Append(Now.ToString("O")).Append("): ")
          .AppendLine(headline);
        long now = NowMilliseconds;
        foreach (var g in _members) if (!g.IsFinished) g.DescribeTo(sb, now);
        return sb.ToString();
    }

    /// <summary>A string of every live goroutine in the bubble, like <see cref="Go.Dump()"/>.</summary>
    /// <returns>One line per goroutine: number, state, wait reason, virtual time waited, where it was started.</returns>
    public string Dump() => Describe("dump");

    private sealed class IdleWaiter : IValueTaskSource, IParkSource
    {
        private Continuation _continuation;

        ref Continuation IParkSource.Continuation => ref _continuation;

        public void Complete() => _continuation.Signal(this);

        public ValueTaskSourceStatus GetStatus(short token) =>
            _continuation.IsSignalled ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Pending;

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _continuation.OnCompleted(continuation, state, flags, WaitReason.WaitIdle, this);

        public void GetResult(short token)
        {
            if (!_continuation.IsSignalled) throw new InvalidOperationException("WaitIdleAsync's ValueTask must be awaited.");
        }
    }
}
