// The stand-in world the real runtime files are compiled against (see the project file).
//
// Only what the compiled files (RunQueue.cs, Processor.cs, Machine.cs, Sysmon.cs, and for the park models Goroutine.cs,
// Continuation.cs, Park.cs and SelectCore.cs) name is here, and each stand-in is as small as the models need: a
// goroutine is the real record (Goroutines.New gives it a model number and a step); the scheduler keeps the global queue (the real
// GlobalRunQueue from RunQueue.cs), one idle-P list, and counters; the clock is virtual and moves only when sysmon
// parks; timers never fire; the scheduler lock is a real Monitor, whose regions the checker runs atomically
// (ModelChecker.AtomicRegion); WordLock is a model lock the checker can see waiting. A model that needs a member
// not listed here gets a NotSupportedException naming it, not a silent default.

using System.Runtime.CompilerServices;
using Weft.ModelCheck.Harness;

namespace Weft.Runtime;

/// <summary>The scheduler's shared state, reset by <see cref="Reset"/> before every execution.</summary>
internal static class Scheduler
{
    public static readonly object SchedLock = new();
    public const int RunnextCap = 3;

    public static GlobalRunQueue Global = new();
    public static Processor[] AllP = [];
    public static int Spinning;
    public static int IdleCount;
    public static int Retakes;
    public static int Steals;
    public static int Wakeups;

    /// <summary>The idle-P list; guarded by SchedLock (the real one is linked through Processor.IdleLink).</summary>
    public static readonly List<Processor> Idle = [];

    static Scheduler() => ModelChecker.AtomicRegion = static () => Monitor.IsEntered(SchedLock);

    public static void Reset(params Processor[] allp)
    {
        Global = new GlobalRunQueue();
        AllP = allp;
        Spinning = IdleCount = Retakes = Steals = Wakeups = 0;
        OnReady = null;
        NextWaiting = false;
        YieldedParks = 0;
        Idle.Clear();
        Timers = new TimerHeap();
        Clock.Now = 0;
    }

    /// <summary>
    /// Where Scheduler.Ready sends a goroutine (the park models' run queue); null in the scheduler models, which
    /// transcribe the ready path instead (HandBackModelTests), so a call there fails.
    /// </summary>
    public static Action<Goroutine>? OnReady;

    internal static void Ready(Goroutine g) => (OnReady ?? throw Unsupported())(g);

    /// <summary>
    /// Scheduler.ReadyCommitted, transcribed (Scheduler.cs is not linked): the run word's store, then Ready. The
    /// store and its point are the protocol's; a change to the real one must be copied here.
    /// </summary>
    internal static void ReadyCommitted(Goroutine g)
    {
        g.State = GoroutineState.Runnable;
        ModelPoint.Here();
        Volatile.Write(ref g.RunWord, Goroutine.RunResumed);
        Ready(g);
    }

    /// <summary>Scheduler.ReadyCommittedYield, transcribed as <see cref="ReadyCommitted"/> is.</summary>
    internal static void ReadyCommittedYield(Goroutine g)
    {
        g.State = GoroutineState.Runnable;
        ModelPoint.Here();
        Volatile.Write(ref g.RunWord, Goroutine.RunResumed);
        ReadyGlobal(g);
    }

    /// <summary>What Scheduler.NextIsWaiting answers in a model (a select's yield before parking); false unless a model sets it.</summary>
    public static bool NextWaiting;

    internal static bool NextIsWaiting() => NextWaiting;

    /// <summary>Scheduler.ReadyBehindNext: the park models' run queue, as Ready.</summary>
    internal static void ReadyBehindNext(Goroutine g)
    {
        YieldedParks++;
        Ready(g);
    }

    /// <summary>How many steps ended with a yielded park in this execution.</summary>
    public static int YieldedParks;

    internal static void CountRetake() => Retakes++;
    internal static void CountSteal() => Steals++;
    internal static void Wakep() => Wakeups++;
    internal static void ReadyGlobal(Goroutine g) => (OnReady ?? Global.Push)(g);
    internal static long EarliestTimer() => Clock.Never;

    /// <summary>The sleep models' one timer heap, fresh for every execution (Reset).</summary>
    public static TimerHeap Timers = new();

    internal static void AddTimer(TimerNode t, long when) => Timers.Add(t, when);

    /// <summary>The virtual clock: moved by sysmon's park and by the sleep models' firing M.</summary>
    internal static long TimerNow() => Clock.Now;
    internal static void OnTimerAdded(long when) { }

    /// <summary>Sysmon (after a retake) or Go.Blocking hands a P on: here it always goes to the idle list.</summary>
    internal static void HandoffP(Processor p)
    {
        lock (SchedLock) PidlePutLocked(p);
    }

    internal static Processor? PidleGet()
    {
        if (Idle.Count == 0) return null;
        var p = Idle[^1];
        Idle.RemoveAt(Idle.Count - 1);
        IdleCount--;
        return p;
    }

    internal static void PidlePut(Processor p, long gen)
    {
        p.Release(gen);
        PidlePutLocked(p);
    }

    private static void PidlePutLocked(Processor p)
    {
        if (Idle.Contains(p)) throw new InvalidOperationException($"P{p.Id} is put on the idle list twice.");
        Idle.Add(p);
        IdleCount++;
    }

    internal static bool TryBecomePoller(Machine m, ref long deadline) => throw Unsupported();
    internal static void EndPoll(Machine m) => throw Unsupported();
    internal static Machine? PollerM => null;
    internal static long PrepareTimedPark(Machine m) => throw Unsupported();
    internal static void EndTimedPark(Machine m) => throw Unsupported();
    internal static void MidlePut(Machine m) => throw Unsupported();
    internal static void MidleRemove(Machine m) => throw Unsupported();
    internal static void RetireP(Processor p) => throw Unsupported();
    internal static void RunAllTimers(long now) => throw Unsupported();
    internal static bool AnyWork(Processor[] allp) => throw Unsupported();

    private static NotSupportedException Unsupported([CallerMemberName] string member = "") =>
        new($"Scheduler.{member} is not part of the model world (tests/Weft.ModelCheck/World).");
}

/// <summary>The netpoller, never in use in the models: nothing is armed, so no M and no sysmon tick polls.</summary>
internal static class Netpoll
{
    public static bool HasWaiters => false;
    public static bool SomeoneBlocks => false;
    public static bool SearchingPollsOff => false;

    public static int PollNow(PollSource source) => throw Unsupported();
    public static void SysmonCheck(long now, long tick) { }
    public static void Interrupt() => throw Unsupported();
    public static int WaitBlocking(PollEvents buffer, long deadline) => throw Unsupported();
    public static int Dispatch(PollEvents buffer, int n, PollSource source) => throw Unsupported();

    private static NotSupportedException Unsupported([CallerMemberName] string member = "") =>
        new($"Netpoll.{member} is not part of the model world (tests/Weft.ModelCheck/World).");
}

internal enum PollSource { None, PollerM, Searching, Sysmon }

internal sealed class PollEvents;

/// <summary>A virtual clock: it moves only when sysmon parks (one tick each time).</summary>
internal static class Clock
{
    public const long Never = long.MaxValue;
    public static long Now;

    public static long FromTimeSpan(TimeSpan d) => d.Ticks;
}

/// <summary>
/// Sysmon's sleep between ticks: a scheduling point that moves the virtual clock to the deadline, and ends the
/// sysmon thread (ModelThreadExitException) once the model's budget of ticks is spent.
/// </summary>
internal sealed class Parker
{
    public static int TicksLeft;

    public bool Park(long deadline)
    {
        ModelChecker.Point("Parker.Park");
        if (--TicksLeft < 0) throw new ModelThreadExitException();
        if (deadline != Clock.Never && deadline > Clock.Now) Clock.Now = deadline;
        return false;
    }

    public void Unpark() { }

    // The blocking forms' side of the one parker (Select.Wait): no model blocks a thread, they wait with WaitAsync.
    public static Parker Current => throw Unsupported();

    public static void CheckNotInBubble() => throw Unsupported();

    public void Park(WaitReason reason) => throw Unsupported();

    private static NotSupportedException Unsupported() =>
        new("A blocking thread's Parker is not part of the model world (tests/Weft.ModelCheck/World): models wait with WaitAsync.");
}

/// <summary>
/// One timer heap for the whole model (Scheduler.AddTimer puts every timer here). Each operation is one step of the
/// checker, as it is one section under the real heap's lock; the sleep models' firing M pops a due timer in one step
/// and fires it in a later one, the window in which the real RunExpired has released the lock.
/// </summary>
internal sealed class TimerHeap
{
    private readonly List<TimerNode> _items = [];

    public long NextWhen => _items.Count == 0 ? Clock.Never : _items.Min(t => t.When);

    public int Count => _items.Count;

    public int RunExpired(long now) => 0;

    public void Add(TimerNode t, long when)
    {
        ModelChecker.Point("TimerHeap.Add");
        if (t.Heap is not null) throw new InvalidOperationException("A timer is added to a heap while it sits in one.");
        t.When = when;
        t.Heap = this;
        _items.Add(t);
    }

    public bool Remove(TimerNode t)
    {
        ModelChecker.Point("TimerHeap.Remove");
        if (t.Heap != this) return false;
        _items.Remove(t);
        t.Heap = null;
        return true;
    }

    /// <summary>The firing M, under the lock: takes the earliest timer due at <paramref name="now"/> out, or null.</summary>
    public TimerNode? PopDue(long now)
    {
        ModelChecker.Point("TimerHeap.PopDue");
        var t = _items.Where(x => x.When <= now).OrderBy(x => x.When).FirstOrDefault();
        if (t is null) return null;
        _items.Remove(t);
        t.Heap = null;
        return t;
    }
}

/// <summary>An entry of the model's heap (the real one is in Timers.cs, which the models do not compile).</summary>
internal abstract class TimerNode
{
    internal long When;
    internal TimerHeap? Heap;
    internal int Index = -1;

    internal abstract void Fire(long now);
}

internal enum DeadlockDetection { Off }

internal sealed class RuntimeConfig
{
    /// <summary>Set by each model. A 1 ms threshold makes sysmon's tick equal to it: a step seen on two ticks in a row is retaken.</summary>
    public static RuntimeConfig Current { get; set; } = new() { BlockingThreshold = TimeSpan.FromMilliseconds(1) };

    public TimeSpan BlockingThreshold { get; init; }
    public DeadlockDetection Deadlock { get; init; }
}

internal static class DeadlockDetector
{
    public static readonly TimeSpan RecheckEvery = TimeSpan.FromMilliseconds(250);
    public static bool UnderMain => false;

    public static bool Check(DeadlockDetection mode) => false;
}

internal static class Registry
{
    public static void Sweep() { }

    public static void Remove(Goroutine g) { }
}

/// <summary>A bubble: no model runs goroutines in one (Goroutine.Bubble stays null).</summary>
internal sealed class SynctestBubble
{
    public static SynctestBubble? Current => null;

    public long NowMilliseconds => throw Unsupported();

    public void OnFinished() => throw Unsupported();

    public void OnUnhandled(Exception error, Goroutine g) => throw Unsupported();

    private static NotSupportedException Unsupported([CallerMemberName] string member = "") =>
        new($"SynctestBubble.{member} is not part of the model world (tests/Weft.ModelCheck/World).");
}

internal static class ContextFlow
{
    public static ExecutionContext? CaptureForSpawn() =>
        throw new NotSupportedException("ContextFlow.CaptureForSpawn is not part of the model world (tests/Weft.ModelCheck/World): models build goroutines with Goroutines.New.");
}

/// <summary>
/// A model lock in place of the runtime's spin lock: Enter is a scheduling point, and a thread that finds it held
/// waits where the checker can see it (a spinning waiter would be a livelock to the checker).
/// </summary>
internal struct WordLock
{
    private Holder? _holder;

    public readonly bool IsHeld => _holder?.Held == true;

    public void Enter()
    {
        var h = _holder ??= new Holder();
        ModelChecker.Point("WordLock.Enter");
        ModelChecker.WaitUntil(() => !h.Held, "WordLock.Enter (held)");
        h.Held = true;
    }

    public void EnterYielding() => Enter();

    public void Exit()
    {
        if (_holder is not { Held: true } h) throw new InvalidOperationException("WordLock.Exit without Enter.");
        h.Held = false;
    }

    private sealed class Holder
    {
        public bool Held;
    }
}

/// <summary>Real goroutine records for the models.</summary>
internal static class Goroutines
{
    private static readonly object s_body = new();

    /// <summary>
    /// A goroutine, Queued, whose first step runs <paramref name="step"/> (nothing if null). Its model number is kept
    /// in <see cref="Goroutine.Line"/>, where Go.Run's caller line goes: no compiled file reads it, and the real
    /// <see cref="Goroutine.Id"/> is drawn from a process-wide counter, so it differs between executions.
    /// </summary>
    public static Goroutine New(int id, Action? step = null) =>
        new(step is null ? static _ => { } : _ => step(), s_body, null, "model", id);

    /// <summary>The model number given to <see cref="New"/>.</summary>
    public static int ModelId(this Goroutine g) => g.Line;
}
