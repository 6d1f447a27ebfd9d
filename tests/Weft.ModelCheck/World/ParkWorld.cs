// The park models' world (ParkModelTests): one real goroutine that parks with a commit (Runtime/Park.cs) on a
// one-slot primitive, the M that runs its steps, and the ghost state the checks read.
//
// The primitive (OneSlotChan, its node OneSlotWaiter) stands in for a channel: a value slot and a queue under a
// model WordLock. Its commit, claim, close and cancellation transcribe the channel's (Chan.Defer.cs CommitDeferred
// and TryUncommit, Chan.Close) and its wake is the real Continuation.Complete, so the models check the real
// Goroutine.cs transitions (the step end that publishes RunParkedOnChan and commits, Deliver's fence and claim, the
// committed wake, Scheduler.ReadyCommitted, transcribed in World.cs, and the Resumed step) against the primitive side
// the protocol asks of every ParkNode. Cancellation is the rule a cancellable deferred park must follow (today only
// uncancellable waits defer: Park.cs): the canceller, under the primitive's lock, removes a queued node and readies a
// committed owner with ReadyCommitted, or, finding the node not queued and not completed, leaves a request that the
// commit reads under the same lock.

using System.Threading.Tasks.Sources;
using Weft.ModelCheck.Harness;
using Weft.Runtime;

namespace Weft.ModelCheck.World;

/// <summary>How a wait ended, as its owner's GetResult saw it.</summary>
internal enum WaitEnd : byte
{
    None,
    Delivered,
    Closed,
    Cancelled,
}

/// <summary>The node of one wait on a <see cref="OneSlotChan"/>: a receive, parked with a commit.</summary>
internal sealed class OneSlotWaiter : ParkNode, IParkSource
{
    private Continuation _continuation;
    public readonly OneSlotChan Chan;
    public readonly Goroutine Owner;

    // Under Chan's lock.
    public bool Committed;
    public bool CancelRequested;
    public WaitEnd Result;
    public int Value;

    public OneSlotWaiter(OneSlotChan chan, Goroutine owner)
    {
        Chan = chan;
        Owner = owner;
        _continuation.SetOwner(owner);
    }

    ref Continuation IParkSource.Continuation => ref _continuation;

    public bool IsSignalled => _continuation.IsSignalled;

    /// <summary>The awaiter's OnCompleted, as a ValueTask over this node calls it from the owner's step.</summary>
    public void Await(Action<object?> continuation) =>
        _continuation.OnCompleted(continuation, this, ValueTaskSourceOnCompletedFlags.UseSchedulingContext, WaitReason.ChanReceive, this);

    /// <summary>ChanWaiter.CommitPark.</summary>
    internal override ParkOutcome CommitPark(Goroutine owner)
    {
        var outcome = Chan.CommitDeferred(this, owner);
        if (outcome == ParkOutcome.Completed) _continuation.MarkCompleted();
        return outcome;
    }

    internal override bool TryUncommit(Goroutine owner) => Chan.TryUncommit(this, owner);

    internal override void ReturnToPool() => Chan.World.ReturnToPool(this);

    /// <summary>Chan.WakeAll (Continuation.Complete, the real one), after the node left the queue under the lock (the caller's only).</summary>
    public void Wake()
    {
        ModelChecker.Point("OneSlotWaiter.Wake"); // Committed is read outside the lock, as Chan.WakeAll reads it after the unlock
        _continuation.Complete(ref Committed);
    }

    /// <summary>The cancellation of a wait that is not deferred (ChanWaiter.Cancel's shape): the posting protocol's Signal.</summary>
    public void SignalOwned() => _continuation.Signal();

    /// <summary>GetResult's reset for the next wait.</summary>
    public void Reset()
    {
        _continuation.ResetKeepingOwner();
        Result = WaitEnd.None;
        CancelRequested = false;
        Value = 0;
    }
}

/// <summary>Seeded bugs of the primitive side, each of which some model must find.</summary>
internal enum PrimitiveBug : byte
{
    None,

    /// <summary>The commit queues the node without looking for mail (half of the Dekker pair missing).</summary>
    CommitIgnoresMail,

    /// <summary>A canceller that removes the node and signals it as ChanWaiter.Cancel does (the owned protocol).</summary>
    CancelThroughSignal,

    /// <summary>A poster's claim that trusts the Committed flag and does not ask whether the node is still queued.</summary>
    ClaimByFlagOnly,
}

/// <summary>A one-slot primitive: a value slot, a closed flag and a wait queue, under a model WordLock.</summary>
internal sealed class OneSlotChan(ParkWorld world, PrimitiveBug bug = PrimitiveBug.None)
{
    public readonly ParkWorld World = world;
    private WordLock _lock;
    public int? Slot;
    public bool Closed;
    public readonly List<OneSlotWaiter> Queue = [];

    /// <summary>Chan.CommitDeferred for a receive, with the cancellation request first.</summary>
    public ParkOutcome CommitDeferred(OneSlotWaiter w, Goroutine owner)
    {
        _lock.Enter();
        ParkOutcome outcome;
        if (w.CancelRequested)
        {
            w.Result = WaitEnd.Cancelled;
            outcome = ParkOutcome.Completed;
        }
        else if (Slot is { } v)
        {
            Slot = null;
            w.Value = v;
            w.Result = WaitEnd.Delivered;
            outcome = ParkOutcome.Completed;
        }
        else if (Closed)
        {
            w.Result = WaitEnd.Closed;
            outcome = ParkOutcome.Completed;
        }
        else if (bug != PrimitiveBug.CommitIgnoresMail && owner.HasMail)
        {
            outcome = ParkOutcome.Mail;
        }
        else
        {
            w.Committed = true;
            Enqueue(w);
            outcome = ParkOutcome.Parked;
        }
        World.Outcomes[(int)outcome]++;
        _lock.Exit();
        return outcome;
    }

    /// <summary>Chan.TryUncommit: a poster takes the owner's committed park back, if still queued here.</summary>
    public bool TryUncommit(OneSlotWaiter w, Goroutine owner)
    {
        _lock.Enter();
        bool mine = w.Committed && ReferenceEquals(w.Owner, owner) && (Queue.Remove(w) || bug == PrimitiveBug.ClaimByFlagOnly);
        if (mine) w.Committed = false;
        if (mine) World.Claims++; else World.ClaimsRefused++;
        _lock.Exit();
        return mine;
    }

    /// <summary>
    /// A send: hands <paramref name="value"/> to a queued receiver (and readies it), or fills the slot (waiting,
    /// where the checker sees it, until the slot is empty).
    /// </summary>
    public void Send(int value)
    {
        ModelChecker.WaitUntil(() => Slot is null, "Send waits for the slot");
        _lock.Enter();
        if (Closed) throw new InvalidOperationException("Send on a closed OneSlotChan: the model sends before it closes.");
        if (Queue.Count > 0)
        {
            var w = Queue[0];
            Queue.RemoveAt(0);
            w.Value = value;
            w.Result = WaitEnd.Delivered;
            _lock.Exit();
            w.Wake();
            return;
        }
        if (Slot is not null) throw new InvalidOperationException("The one slot is full: the model has one sender.");
        Slot = value;
        _lock.Exit();
    }

    /// <summary>Chan.Close: every queued receiver ends with "closed".</summary>
    public void Close()
    {
        _lock.Enter();
        Closed = true;
        var woken = Queue.ToArray();
        Queue.Clear();
        foreach (var w in woken) w.Result = WaitEnd.Closed;
        _lock.Exit();
        foreach (var w in woken) w.Wake();
    }

    /// <summary>
    /// The cancellation of <paramref name="w"/>: removes it if queued and readies its owner, else, if the wait has not
    /// ended, leaves a request for its commit. With <see cref="PrimitiveBug.CancelThroughSignal"/>, ChanWaiter.Cancel's
    /// shape: remove if queued, then the posting protocol's Signal.
    /// </summary>
    public void Cancel(OneSlotWaiter w)
    {
        _lock.Enter();
        if (Queue.Remove(w))
        {
            w.Result = WaitEnd.Cancelled;
            _lock.Exit();
            if (bug == PrimitiveBug.CancelThroughSignal) w.SignalOwned();
            else w.Wake();
            return;
        }
        if (bug != PrimitiveBug.CancelThroughSignal && w.Result == WaitEnd.None) w.CancelRequested = true;
        _lock.Exit();
    }

    private void Enqueue(OneSlotWaiter w)
    {
        if (Queue.Contains(w)) throw new InvalidOperationException("A node is queued twice.");
        if (World.Pool.Contains(w)) throw new InvalidOperationException("A pooled node is queued.");
        Queue.Add(w);
    }
}

/// <summary>
/// One execution's world: the goroutine G (real), its M (a model thread that runs G's steps as Scheduler.Ready
/// queues them), the ghost run queue, and what the checks count.
/// </summary>
internal sealed class ParkWorld
{
    public readonly Goroutine G;
    public readonly List<Goroutine> RunQueue = [];
    public readonly List<(WaitEnd End, int Value)> Ended = [];
    public readonly List<OneSlotWaiter> Pool = [];
    public readonly int[] Outcomes = new int[3]; // by ParkOutcome
    public int Claims, ClaimsRefused, Readies, Steps, MailRan, Posts;
    public int RacersLeft;
    private int _waitsLeft;
    private int _inStep; // Ms inside G's RunStep: two only after a commit parked G and its wake-up reached another M

    /// <summary>True once a step of G started while another M had not yet returned from the step that parked it.</summary>
    public bool Overlapped;

    /// <param name="firstStep">G's first step (it starts the first wait).</param>
    /// <param name="waits">How many receives G makes in a row: each after the first reuses the node, G's spare.</param>
    public ParkWorld(Action<ParkWorld> firstStep, int waits)
    {
        _waitsLeft = waits;
        Scheduler.Reset();
        G = Goroutines.New(1, () => firstStep(this));
        RunQueue.Add(G); // a new goroutine is Queued
        Scheduler.OnReady = Ready;
    }

    private void Ready(Goroutine g)
    {
        if (g != G) throw new InvalidOperationException("A goroutine other than G was readied.");
        if (RunQueue.Contains(g)) throw new InvalidOperationException("G was readied while already in the run queue: two wake-ups for one park.");
        RunQueue.Add(g);
        Readies++;
    }

    /// <summary>The M: runs G's steps while it is queued; ends when it is not and every racer has finished.</summary>
    public void RunM()
    {
        while (true)
        {
            ModelChecker.WaitUntil(() => RunQueue.Count > 0 || RacersLeft == 0, "M waits for G to be readied");
            if (RunQueue.Count == 0) return;
            var g = RunQueue[0];
            RunQueue.RemoveAt(0);
            Steps++;
            if (_inStep > 0) Overlapped = true;
            _inStep++;
            try { g.RunStep(); }
            finally { _inStep--; }
            SynchronizationContext.SetSynchronizationContext(null); // as the M does before it runs anything else
        }
    }

    /// <summary>A racer's body: counted, so that the M knows when no wake-up can come any more.</summary>
    public Action Racer(Action body) => () =>
    {
        try { body(); }
        finally { RacersLeft--; }
    };

    /// <summary>The first step's wait: a receive that looked blocked, deferred and awaited by G (primary).</summary>
    public void DeferAndAwait(OneSlotWaiter w)
    {
        if (!ReferenceEquals(SynchronizationContext.Current, G)) throw new InvalidOperationException("The wait starts outside G's step.");
        if (!G.CanDefer) throw new InvalidOperationException("G has a deferred wait already.");
        G.Defer(w);
        w.Await(s_onWaitEnded);
    }

    private static readonly Action<object?> s_onWaitEnded = static o => ((OneSlotWaiter)o!).Chan.World.GetResult((OneSlotWaiter)o!);

    /// <summary>
    /// ChanWaiter.GetResult in G's next step: records the end, then keeps the node as G's spare or pools it. If G has
    /// another receive to make, it takes the spare back and defers it (ChanWaiter.RentDeferred's first branch).
    /// </summary>
    private void GetResult(OneSlotWaiter w)
    {
        if (!ReferenceEquals(SynchronizationContext.Current, G)) throw new InvalidOperationException("The wait's continuation runs outside G's step.");
        if (!w.IsSignalled) throw new InvalidOperationException("The wait's continuation runs before the wait completed.");
        if (w.Result == WaitEnd.None) throw new InvalidOperationException("The wait completed with no outcome.");
        Ended.Add((w.Result, w.Value));
        w.Reset();
        if (!G.TryStashSpare(w)) ReturnToPool(w);
        if (--_waitsLeft == 0) return;
        if (!ReferenceEquals(G.Spare, w)) throw new InvalidOperationException("G's spare is not the node of its last wait.");
        if (!G.CanDefer) throw new InvalidOperationException("G has a deferred wait already.");
        G.DeferSpare();
        w.Await(s_onWaitEnded);
    }

    public void ReturnToPool(OneSlotWaiter w)
    {
        if (w.Chan.Queue.Contains(w) || w.Committed) throw new InvalidOperationException("A node goes back to the pool while still queued or committed.");
        if (Pool.Contains(w)) throw new InvalidOperationException("A node goes back to the pool twice.");
        Pool.Add(w);
    }

    /// <summary>A foreign completion: a post into G's mailbox (Goroutine.Post), whose callback counts its runs.</summary>
    public void Post()
    {
        Posts++;
        G.Post(s_mail, this);
    }

    private static readonly SendOrPostCallback s_mail = static o =>
    {
        var world = (ParkWorld)o!;
        if (!ReferenceEquals(SynchronizationContext.Current, world.G)) throw new InvalidOperationException("The mail runs outside G's step.");
        world.MailRan++;
    };
}
