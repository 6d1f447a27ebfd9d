// The sleep models' world (SleepModelTests): G sleeps (the real Runtime/Sleep.cs: its deferred park, its commit, its
// timer entry and its state word), and a firing M advances the virtual clock and fires due timers from the model heap
// (World.cs). The rest is OneGoroutineWorld's.

using System.Runtime.CompilerServices;
using Weft.ModelCheck.Harness;
using Weft.Runtime;

namespace Weft.ModelCheck.World;

internal sealed class SleepWorld : OneGoroutineWorld
{
    /// <summary>How long each sleep is, in virtual ticks; the firing M moves the clock to a due deadline.</summary>
    public const long Nap = 1;

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "Cancel")]
    private static extern void CancelNode(SleepNode node);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_obj")]
    private static extern ref readonly object? Source(ref readonly ValueTask vt);

    public readonly List<string> Ended = []; // "fired" or "cancelled", in order
    public readonly List<SleepNode> Nodes = []; // the node of each sleep, in order (a pooled node repeats)
    public int Fires, EarlyEnds, EndedAtCommit; // EndedAtCommit: sleeps that no racer ended (their commit found the deadline passed)
    private readonly int _sleeps;
    private readonly CancellationToken _token;
    private long _deadline;
    private int _readiesAtStart;

    /// <param name="sleeps">How many sleeps G makes in a row (uncancellable ones reuse the first node, from the pool).</param>
    /// <param name="cancellable">Sleeps with a token that can be cancelled (fresh nodes); the canceller calls the node's
    /// callback itself, so a late one runs after GetResult, as a callback the disposal did not wait for would.</param>
    public SleepWorld(int sleeps, bool cancellable = false)
    {
        _sleeps = sleeps;
        _token = cancellable ? new CancellationTokenSource().Token : default;
    }

    private int RacerReadies => ReadiedBy.Values.Sum();

    /// <summary>True once every sleep of G has ended.</summary>
    public bool Done => Ended.Count == _sleeps;

    /// <summary>G's step: Go.Sleep(Nap) awaited by G itself (a deferred park: the step's end commits it).</summary>
    protected override void FirstStep()
    {
        InStep("The sleep");
        _deadline = Clock.Now + Nap;
        _readiesAtStart = RacerReadies;
        var vt = SleepNode.Start(_deadline, _token);
        Nodes.Add((SleepNode)Source(in vt)!);
        vt.GetAwaiter().UnsafeOnCompleted(() => OnEnded(vt));
    }

    private void OnEnded(ValueTask vt)
    {
        InStep("The sleep's continuation");
        if (RacerReadies == _readiesAtStart) EndedAtCommit++; // the commit requeued G itself (Sleep.cs, Requeue)
        try
        {
            vt.GetAwaiter().GetResult();
            if (Clock.Now < _deadline) EarlyEnds++;
            Ended.Add("fired");
        }
        catch (OperationCanceledException)
        {
            Ended.Add("cancelled");
        }
        if (!Done) FirstStep();
    }

    /// <summary>
    /// A firing M (TimerHeap.RunExpired): waits for a timer, moves the clock to its deadline, pops it in one step
    /// and fires it in a later one; until G's sleeps are all over.
    /// </summary>
    public void RunTimers()
    {
        while (true)
        {
            ModelChecker.WaitUntil(() => Scheduler.Timers.Count > 0 || Done, "the firing M waits for a timer");
            if (Done) return;
            long when = Scheduler.Timers.NextWhen;
            if (when > Clock.Now) Clock.Now = when;
            if (Scheduler.Timers.PopDue(Clock.Now) is not { } t) continue; // taken back before the pop
            ModelChecker.Point("between the pop and Fire");
            Fires++;
            Racing("fire", () => t.Fire(Clock.Now));
        }
    }

    /// <summary>The token's callback for the first sleep (a cancellable sleep: its node is never pooled).</summary>
    public void CancelFirst()
    {
        ModelChecker.WaitUntil(() => Nodes.Count > 0, "the canceller waits for the first sleep to start");
        Racing("cancel", () => CancelNode(Nodes[0]));
    }
}
