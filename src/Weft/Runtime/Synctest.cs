// Synctest — a bubble: an alternative scheduler for a group of goroutines (Go keeps it in runtime/synctest.go).
// Weft.Testing.Bubble is its public facade; the runtime routes on one goroutine field (Goroutine.Bubble) and never
// names the testing namespace.
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
// NextRandom), the same seed replays the same interleaving, as long as the test does no real I/O.
//
// Rejected: running bubble goroutines on the real Ps with a flag (the order would depend on the OS scheduler, so
// seeds could not replay), and Go's approach of durable-blocking bookkeeping in every primitive (the park reason
// each primitive already records on its goroutine says the same thing, at no cost outside bubbles). A public
// Bubble type inside Runtime: the runtime would then know its testing API, and every hot path that asks "am I in a
// bubble?" would name it.

using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Tasks.Sources;

namespace Weft.Runtime;

/// <summary>One bubble's scheduler, clock and members (see the essay above). Created by <c>Weft.Testing.Bubble.Run</c>.</summary>
internal sealed class SynctestBubble
{
#pragma warning disable IDE1006 // [ThreadStatic] fields take the .NET runtime's t_ prefix, which the naming rules cannot express
    [ThreadStatic] private static SynctestBubble? t_current;
#pragma warning restore IDE1006

    private readonly Lock _lock = new();
    private readonly List<Goroutine> _runq = []; // guarded by _lock
    private readonly List<Goroutine> _members = []; // bubble thread only
    private readonly List<IdleWaiter> _idleWaiters = []; // bubble thread only
    private readonly Parker _parker = new();
    private readonly Random _random;
    private readonly Func<int, string, Exception> _deadlock;
    private long _now; // virtual Clock ticks since the epoch; bubble thread only (read racily by dumps)
    private int _live; // members not finished; bubble thread only except OnFinished, which runs there too
    private Exception? _failure;
    private Goroutine? _root;

    /// <summary>Timers created through the bubble's TimeProvider and not yet fired or disposed; bubble thread only.</summary>
    internal int ProviderTimers;

    internal readonly TimerHeap Timers;

    /// <param name="seed">Seeds run order and select choices.</param>
    /// <param name="facade">The public object that stands for this bubble (Weft.Testing.Bubble).</param>
    /// <param name="deadlock">Makes the exception a deadlocked bubble fails with, from its seed and the dump.</param>
    internal SynctestBubble(int seed, object facade, Func<int, string, Exception> deadlock)
    {
        Seed = seed;
        Facade = facade;
        _deadlock = deadlock;
        _random = new Random(seed);
        Timers = new TimerHeap(static _ => { });
    }

    /// <summary>The bubble the calling thread runs, or null outside bubbles.</summary>
    internal static SynctestBubble? Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_current;
    }

    internal int Seed { get; }

    internal object Facade { get; }

    internal long NowTicks => Volatile.Read(ref _now);

    /// <summary>The virtual time, from <see cref="Epoch"/>.</summary>
    internal DateTimeOffset Now => Epoch + Clock.ToTimeSpan(NowTicks);

    internal long NowMilliseconds => (long)Clock.ToTimeSpan(Volatile.Read(ref _now)).TotalMilliseconds;

    /// <summary>A random choice in [0, n) from the bubble's seeded generator; bubble thread only.</summary>
    internal int NextRandom(int n) => _random.Next(n);

    /// <summary>Throws unless the calling code runs in <paramref name="owner"/> (an object made in a bubble stays in it).</summary>
    internal static void CheckAccess(SynctestBubble? owner, string what)
    {
        if (owner is not null && Current != owner)
            throw new InvalidOperationException($"This {what} belongs to a Weft bubble (seed {owner.Seed}) and cannot be used from outside it.");
    }

    /// <summary>Starts the bubble's thread, which runs <paramref name="body"/> as the root goroutine and completes the returned task.</summary>
    internal Task Start(Func<Task> body, string file, int line)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var context = ContextFlow.CaptureForSpawn(); // the root goroutine starts in the caller's context, as Go.Run's do
        var thread = new Thread(() => RunLoop(body, context, done, file, line), RuntimeConfig.Current.StackSize)
        {
            IsBackground = true,
            Name = "weft-bubble-" + Seed,
        };
        thread.UnsafeStart();
        return done.Task;
    }

    /// <summary>Completes once every goroutine in the bubble is durably blocked. Called from a goroutine in this bubble.</summary>
    internal ValueTask WaitIdleAsync()
    {
        if (Current != this) throw new InvalidOperationException("WaitIdleAsync must be called from a goroutine in this bubble.");
        var w = new IdleWaiter();
        _idleWaiters.Add(w);
        return new ValueTask(w, 0);
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

    private void RunLoop(Func<Task> body, ExecutionContext? context, TaskCompletionSource done, string file, int line)
    {
        t_current = this;
        try
        {
            _root = Goroutine.Create(Goroutine.StartFunc, body, null, file.Length == 0 ? null : file, line, context);
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
                    if (_parker.Park(Clock.Now + Clock.FromTimeSpan(TimeSpan.FromMilliseconds(50))) || ProviderTimers == 0) continue;
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
                _failure = _deadlock(Seed, Describe(_root.IsFinished
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
    internal string Dump() => Describe("dump");

    /// <summary>Where every bubble's virtual clock starts.</summary>
    internal static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed class IdleWaiter : IValueTaskSource, IParkSource
    {
        private Continuation _continuation;

        ref Continuation IParkSource.Continuation => ref _continuation;

        public void Complete() => _continuation.Signal();

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
