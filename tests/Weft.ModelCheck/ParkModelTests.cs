using System.Runtime.CompilerServices;
using Weft.Channels;
using Weft.ModelCheck.Harness;
using Weft.ModelCheck.World;
using Weft.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Weft.ModelCheck;

/// <summary>
/// The park/commit protocol (src/Weft/Runtime/Park.cs, Goroutine.cs and Continuation.cs, compiled here): one real
/// goroutine G whose first step starts a receive on a one-slot primitive that looks blocked, defers it and awaits it,
/// so the real RunStep ends the step by publishing RunParkedOnChan and committing the wait (ParkNode.CommitPark); an
/// M thread runs G's steps whenever Scheduler.Ready queues it. Against it, in each model, one or two racers: a waker
/// that sends the value, a canceller, a closer, a foreign post (Goroutine.Post: the real Deliver, its fence and its
/// claim, ParkNode.TryUncommit). The primitive side is transcribed from the channel's (World/ParkWorld.cs).
///
/// Checked after every step: G is never in the run queue twice (one park, one wake-up) and, while queued, its run
/// word says Queued or Resumed; no node is queued twice or queued from the pool (checked where it happens); the wait
/// ended at most once; a pooled node is neither queued nor committed. Checked at the end: the wait ended exactly once
/// with the outcome the racers allow (delivered, cancelled or closed, never two), or, in the model with no completer,
/// G is still parked on its committed node (no lost wake-up: nobody could wake it); every post ran exactly once, in a
/// step of G; every Ready was followed by a step; G ended parked, and the node is back in the pool.
///
/// State space: one goroutine, one M (two in the last select model), and one or two racers; 2-thread models at
/// preemption bound 8, 3-thread ones at 3, the select ones at 2; each test states its schedules (counted when written;
/// the count moves when a ModelPoint is added or removed) and asserts completeness and that each side of its race
/// ran. Not covered: a second M for the plain receive (Select_TwoMs_* covers the committing step against the next
/// step for a select), loose commits (CommitLoose), the yield flag, and timers.
/// </summary>
public sealed class ParkModelTests(ITestOutputHelper output)
{
    private const int RunParked = 0, RunQueued = 1, RunParkedOnChan = 3, RunResumed = 4, RunQueuedToCommit = 5;

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "RunWord")]
    private static extern ref int Run(Goroutine g);

    /// <summary>
    /// G makes two receives in a row (the second on the node of the first, taken back from G's spare slot), against a
    /// waker that sends 7 and then 8 (waiting for the slot to empty): each commit either finds the value in the slot
    /// (Completed) or queues the node and the waker hands it over and readies G with ReadyCommitted. 2 threads,
    /// preemption bound 8: 276 schedules, complete; both commit outcomes reached (asserted).
    /// </summary>
    [Fact]
    public void StepEnd_AgainstAWaker()
    {
        var stats = new Stats();
        var result = Explore(stats, 8, waits: 2, (w, chan, node) => [("waker", () => { chan.Send(7); chan.Send(8); })], (w, chan) =>
        {
            ExpectEnded(w, (WaitEnd.Delivered, 7), (WaitEnd.Delivered, 8));
            if (chan.Slot is not null) throw new InvalidOperationException("A value was left in the slot.");
        });
        AssertCovered(result, "ReadyCommitted");
        Assert.True(stats.Completed > 0 && stats.Parked > 0, stats.ToString());
    }

    /// <summary>
    /// One receive against its cancellation: the canceller, under the primitive's lock, removes the queued node and
    /// readies G with ReadyCommitted, or leaves a request that the commit reads. 2 threads, preemption bound 8: 21
    /// schedules, complete (the same 21 at bound 3: every interleaving of the model's points); both sides reached
    /// (asserted).
    /// </summary>
    [Fact]
    public void StepEnd_AgainstACancellation()
    {
        var stats = new Stats();
        var result = Explore(stats, 8, waits: 1, (w, chan, node) => [("canceller", () => chan.Cancel(node))],
            (w, chan) => ExpectEnded(w, (WaitEnd.Cancelled, 0)));
        AssertCovered(result, "ReadyCommitted");
        Assert.True(stats.Completed > 0 && stats.Parked > 0, stats.ToString());
    }

    /// <summary>
    /// Two receives in a row against a close: the first ends closed, by the closer's wake-up or at its commit; the
    /// second completes closed at its commit. 2 threads, preemption bound 8: 21 schedules, complete (every
    /// interleaving); both sides reached (asserted).
    /// </summary>
    [Fact]
    public void StepEnd_AgainstAClose()
    {
        var stats = new Stats();
        var result = Explore(stats, 8, waits: 2, (w, chan, node) => [("closer", chan.Close)],
            (w, chan) => ExpectEnded(w, (WaitEnd.Closed, 0), (WaitEnd.Closed, 0)));
        AssertCovered(result, "ReadyCommitted");
        Assert.True(stats.Completed > 0 && stats.Parked > 0, stats.ToString());
    }

    /// <summary>
    /// One receive with no completer, against a foreign post (the Dekker pair): the commit sees the mail (Mail: G
    /// runs it, then commits again), or the poster sees RunParkedOnChan and claims the park back (TryUncommit: the
    /// step it causes runs the mail and commits again), or the poster finds G running and the mail waits for the step
    /// end. At the end the post ran once and G is parked on its committed node again (no completer, so no wake-up is
    /// owed). 2 threads, preemption bound 8: 500 schedules, complete; the Mail outcome, a won claim and a refused
    /// one were all reached (asserted).
    /// </summary>
    [Fact]
    public void StepEnd_AgainstAForeignPost()
    {
        var stats = new Stats();
        var result = Explore(stats, 8, waits: 1, (w, chan, node) => [("poster", w.Post)], ExpectParkedOnTheNode);
        AssertCovered(result, "ClaimCommitted");
        Assert.True(stats.Mail > 0 && stats.Claims > 0 && stats.ClaimsRefused > 0, stats.ToString());
    }

    /// <summary>
    /// One receive against a foreign post and a waker at once: the poster's claim and the waker's dequeue meet under
    /// the primitive's lock, and exactly one of them readies G; the post runs once and the value is received once.
    /// 3 threads, preemption bound 3: 2,687 schedules, complete; claims won and refused, the Mail outcome and
    /// ReadyCommitted were all reached (asserted).
    /// </summary>
    [Fact]
    public void ForeignPost_AgainstAWaker()
    {
        var stats = new Stats();
        var result = Explore(stats, 3, waits: 1, (w, chan, node) => [("poster", w.Post), ("waker", () => chan.Send(7))], (w, chan) =>
        {
            ExpectEnded(w, (WaitEnd.Delivered, 7));
            if (chan.Slot is not null) throw new InvalidOperationException("The value was left in the slot.");
        });
        AssertCovered(result, "ClaimCommitted", "ReadyCommitted");
        Assert.True(stats.Claims > 0 && stats.ClaimsRefused > 0 && stats.Mail > 0, stats.ToString());
    }

    /// <summary>
    /// One receive against a foreign post and a cancellation: a park the poster claimed back is neither queued nor
    /// ended, so the cancellation leaves its request for the next commit. 3 threads, preemption bound 3: 2,687
    /// schedules, complete; a won claim, the Mail outcome and ReadyCommitted reached (asserted).
    /// </summary>
    [Fact]
    public void ForeignPost_AgainstACancellation()
    {
        var stats = new Stats();
        var result = Explore(stats, 3, waits: 1, (w, chan, node) => [("poster", w.Post), ("canceller", () => chan.Cancel(node))],
            (w, chan) => ExpectEnded(w, (WaitEnd.Cancelled, 0)));
        AssertCovered(result, "ClaimCommitted", "ReadyCommitted");
        Assert.True(stats.Claims > 0 && stats.Mail > 0, stats.ToString());
    }

    /// <summary>
    /// One receive against a waker and a cancellation: the wait ends exactly once, delivered (the slot is then empty)
    /// or cancelled (the value is then still in the slot: a cancelled receive consumed nothing). 3 threads,
    /// preemption bound 3: 1,128 schedules, complete; both endings reached (asserted).
    /// </summary>
    [Fact]
    public void Waker_AgainstACancellation()
    {
        int delivered = 0, cancelled = 0;
        var stats = new Stats();
        var result = Explore(stats, 3, waits: 1, (w, chan, node) => [("waker", () => chan.Send(7)), ("canceller", () => chan.Cancel(node))], (w, chan) =>
        {
            if (w.Ended.Count == 1 && w.Ended[0].End == WaitEnd.Cancelled)
            {
                ExpectEnded(w, (WaitEnd.Cancelled, 0));
                if (chan.Slot != 7) throw new InvalidOperationException("The wait was cancelled but the value is not in the slot: it was consumed or lost.");
                cancelled++;
            }
            else
            {
                ExpectEnded(w, (WaitEnd.Delivered, 7));
                if (chan.Slot is not null) throw new InvalidOperationException("The value was delivered and left in the slot.");
                delivered++;
            }
        });
        AssertCovered(result, "ReadyCommitted");
        Assert.True(delivered > 0 && cancelled > 0, $"delivered {delivered}, cancelled {cancelled}");
    }

    /// <summary>
    /// Seeded bug: a commit that queues the node without looking for mail. The checker finds a schedule where the
    /// poster saw G still running (so it did not claim) and the commit parked anyway: the post never runs.
    /// </summary>
    [Fact]
    public void FindsTheLostPost_OfACommitWithoutTheMailCheck()
    {
        var e = Assert.Throws<ModelCheckException>(() =>
            Explore(new Stats(), 3, waits: 1, (w, chan, node) => [("poster", w.Post)], ExpectParkedOnTheNode, PrimitiveBug.CommitIgnoresMail));
        output.WriteLine(e.Message);
        Assert.Contains("1 posts, 0 of them ran", e.Message);
    }

    /// <summary>
    /// Seeded bug: cancelling a committed park the way a non-deferred wait is cancelled (ChanWaiter.Cancel: remove the
    /// node, then the posting protocol's Signal). Signal would find the word Pending (G parked on the node with plain
    /// writes, Park.cs) and wake nobody: Continuation's Debug assertion (a committed park is never completed by
    /// Signal) stops it at once, or the checker reports the lost wake-up. (This is why a cancellable wait that defers,
    /// like Go.Sleep's, has its canceller ready a committed owner with CompleteCommitted.)
    /// </summary>
    [Fact]
    public void FindsTheLostWakeUp_OfACancellationThroughSignal()
    {
        var e = Assert.Throws<ModelCheckException>(() =>
            Explore(new Stats(), 3, waits: 1, (w, chan, node) => [("canceller", () => chan.Cancel(node))],
                (w, chan) => ExpectEnded(w, (WaitEnd.Cancelled, 0)), PrimitiveBug.CancelThroughSignal));
        output.WriteLine(e.Message);
        Assert.Matches("a lost wake-up|not by Signal", e.Message);
    }

    /// <summary>
    /// A select park (the real Select.Wait.cs and SelectCore.cs over two receive cases on one-slot sources,
    /// World/SelectWorld.cs): G's WaitAsync finds nothing ready and defers, and its commit (Select.CommitDeferred) locks
    /// A then B, drops stale nodes, reopens the done word and queues a node on each. Against it a waker that sends 7
    /// on B (dequeue under B's lock, then the done word's CAS) and a foreign post whose claim CASes the done word to
    /// Shut under A's lock (Select.TryUncommit, SelectCore.TryReclaim), leaving the nodes queued as losers for the next
    /// commit to drop. Checked as the other models, and at the end: the select ended once, with case B's 7, and no
    /// node of it is left on either source. 3 threads, preemption bound 2: 1,377 schedules, complete; a loser
    /// dropped by the waker, a stale node dropped by the next commit, the value taken by the select itself, and
    /// ReadyCommitted through SelectCore.Signal were all reached (asserted).
    /// </summary>
    [Fact]
    public void Select_ForeignPost_AgainstAWakerOnTheOtherSource()
    {
        int losersDropped = 0, staleDropped = 0, taken = 0;
        var result = ExploreSelect(2, selects: 1, ms: 1, (w, a, b) => [("poster", w.Post), ("waker", () => b.Send(7))], (w, sel, a, b) =>
        {
            ExpectEnded(w, (WaitEnd.Delivered, 7));
            if (a.Queue.Count + b.Queue.Count != 0 || a.Slot is not null || b.Slot is not null)
                throw new InvalidOperationException("A node of the ended select, or the value, was left on a source.");
            if (b.LosersDropped > 0) losersDropped++;
            if (a.StaleDropped + b.StaleDropped > 0) staleDropped++;
            if (b.Taken > 0) taken++;
        });
        output.WriteLine($"the waker dropped a loser in {losersDropped}, a commit dropped a stale node in {staleDropped}, the select took the value itself in {taken}");
        AssertCovered(result, "ClaimCommitted", "TryReclaim", "TryClaim", "Signal", "ReadyCommitted", "UnlockAll");
        Assert.True(losersDropped > 0 && staleDropped > 0 && taken > 0, $"losers {losersDropped}, stale {staleDropped}, taken {taken}");
    }

    /// <summary>
    /// Two Ms, and G makes two selects in a row on the same Select: the waker's 7 on B readies G while the M that ran
    /// the first commit may still be unlocking its sources, so the other M runs G's next step (Finish, then the second
    /// WaitAsync and its commit) at the same time. Park.cs's rule: once the commit has released the lock that makes
    /// the node visible, the committing step touches nothing of the wait. Checked as the other models, and at the end:
    /// the first select ended with 7, and G is parked on the second (committed, both nodes queued, no completer).
    /// 3 threads, preemption bound 2: 2,232 schedules, complete, 60 of them with G's second step started while the
    /// first commit's M had not yet returned from it (asserted > 0).
    ///
    /// This model found a bug in Select.UnlockAll, fixed with it: the commit cleared each _lockOrder slot after that
    /// slot's unlock. Schedule 183 (of the search at bound 2): M1 runs G's step, the select defers, the step commits
    /// (locks A and B, queues a node on each) and UnlockAll unlocks B, then A, and M1 is preempted before
    /// "_lockOrder[0] = null"; the waker claims G's node on B and readies G; M2 runs G: Finish drops the loser on A,
    /// the second WaitAsync defers, and its commit's LockAll writes _lockOrder[0] = A and [1] = B, locks both, queues
    /// the nodes and unlocks B; M1 resumes and nulls _lockOrder[0]; M2's UnlockAll then reads null: a
    /// NullReferenceException in the goroutine's step, with source A left locked for good. UnlockAll now clears each
    /// slot before its unlock, so the last unlock is the commit's last touch of the select.
    /// </summary>
    [Fact]
    public void Select_TwoMs_TheCommittingStepAgainstTheNextStep()
    {
        int overlapped = 0;
        var result = ExploreSelect(2, selects: 2, ms: 2, (w, a, b) => [("waker", () => b.Send(7))], (w, sel, a, b) =>
        {
            if (!w.Ended.SequenceEqual([(WaitEnd.Delivered, 7)])) throw new InvalidOperationException($"The selects ended as [{string.Join(", ", w.Ended)}], expected [(Delivered, 7)].");
            if (Run(w.G) != RunParkedOnChan || !a.Queue.Contains(sel.Cases[0]) || !b.Queue.Contains(sel.Cases[1]))
                throw new InvalidOperationException("G is not parked on its second select's committed nodes at the end.");
            if (w.Overlapped) overlapped++;
        });
        output.WriteLine($"G's next step ran while the committing M was still in RunStep in {overlapped}");
        AssertCovered(result, "TryClaim", "Signal", "ReadyCommitted", "UnlockAll");
        Assert.True(overlapped > 0, "no schedule ran G's next step before the committing step returned");
    }

    /// <summary>
    /// As <see cref="Select_TwoMs_TheCommittingStepAgainstTheNextStep"/>, with a foreign post as a third racer: its
    /// claim under A's lock meets the first commit's unlocks, the waker's claim on B and the second select's commit.
    /// 4 threads, preemption bound 1 (4 threads at bound 2 take minutes): 4,186 schedules, complete; the claim, the
    /// waker's Signal and ReadyCommitted reached (asserted). Bound 2, run once by hand: 84,192 schedules, complete, no
    /// violation.
    /// </summary>
    [Fact]
    public void Select_TwoMs_AgainstAWakerAndAPost()
    {
        var result = ExploreSelect(1, selects: 2, ms: 2, (w, a, b) => [("poster", w.Post), ("waker", () => b.Send(7))], (w, sel, a, b) =>
        {
            if (!w.Ended.SequenceEqual([(WaitEnd.Delivered, 7)])) throw new InvalidOperationException($"The selects ended as [{string.Join(", ", w.Ended)}], expected [(Delivered, 7)].");
            if (Run(w.G) != RunParkedOnChan || !a.Queue.Contains(sel.Cases[0]) || !b.Queue.Contains(sel.Cases[1]))
                throw new InvalidOperationException("G is not parked on its second select's committed nodes at the end.");
        });
        AssertCovered(result, "ClaimCommitted", "TryReclaim", "TryClaim", "Signal", "ReadyCommitted", "UnlockAll");
    }

    /// <summary>
    /// The yield before parking (Select.cs, step 3; ParkOutcome.Yield): runnext is taken (Scheduler.NextIsWaiting
    /// answers true), so G's first commit yields without locking anything, the step requeues G with the select still
    /// its deferred park (run word RunQueuedToCommit), and G's next step starts with the commit, which does not yield. Against it the waker's 7 on B and a
    /// foreign post, which may come while G is parked-on-chan before the yield (its claim finds nothing committed and
    /// leaves the mail to the next commit), while G is queued (it only appends), or against the second commit. Checked
    /// as the other models, and at the end: the select ended once, with 7, nothing left on either source, and no
    /// execution yielded more than once per commit (a second yield only after the poster's claim took a committed park
    /// back). 3 threads (the M, the waker, the poster), preemption bound 2: 1,864 schedules, complete; the select yielded
    /// in 1,769, and after the yield its second commit found the 7 already sent in 928 and parked, then was woken by
    /// the waker, in 265 (both asserted > 0).
    /// </summary>
    [Fact]
    public void Select_YieldBeforeParking_AgainstAWakerAndAPost()
    {
        int yielded = 0, foundReady = 0, parkedAfter = 0;
        var result = ExploreSelect(2, selects: 1, ms: 1, (w, a, b) => [("poster", w.Post), ("waker", () => b.Send(7))], (w, sel, a, b) =>
        {
            ExpectEnded(w, (WaitEnd.Delivered, 7));
            if (a.Queue.Count + b.Queue.Count != 0 || a.Slot is not null || b.Slot is not null)
                throw new InvalidOperationException("A node of the ended select, or the value, was left on a source.");
            // One yield per park: a second only after the poster's claim took the committed park back, which makes
            // the next step's commit a new one (one post here, so at most two).
            if (Scheduler.YieldedParks > 2) throw new InvalidOperationException($"The select yielded {Scheduler.YieldedParks} times.");
            if (Scheduler.YieldedParks >= 1)
            {
                yielded++;
                if (b.Taken > 0) foundReady++;
                if (b.LosersDropped > 0) parkedAfter++;
            }
        }, nextWaiting: true);
        output.WriteLine($"yielded in {yielded}; then found the 7 ready in {foundReady}, parked and was woken in {parkedAfter}");
        AssertCovered(result, "ClaimCommitted", "TryReclaim", "TryClaim", "Signal", "ReadyCommitted", "UnlockAll");
        Assert.True(yielded > 0 && foundReady > 0 && parkedAfter > 0, $"yielded {yielded}, found ready {foundReady}, parked after {parkedAfter}");
    }

    private ModelResult ExploreSelect(int bound, int selects, int ms, Func<ParkWorld, ModelSource, ModelSource, (string, Action)[]> racers, Action<ParkWorld, Select, ModelSource, ModelSource> final, bool nextWaiting = false)
    {
        var result = ModelChecker.Explore(new ModelOptions { PreemptionBound = ModelBounds.Preemptions(bound) }, () =>
        {
            var sel = new Select();
            var a = new ModelSource(1);
            var b = new ModelSource(2);
            sel.Receive(a);
            sel.Receive(b);
            int left = selects;
            void Wait(ParkWorld world)
            {
                var awaiter = sel.WaitAsync().GetAwaiter();
                if (awaiter.IsCompleted) Done(world, awaiter.GetResult());
                else awaiter.UnsafeOnCompleted(() => Done(world, awaiter.GetResult()));
            }
            void Done(ParkWorld world, int i)
            {
                var c = sel.Cases[i];
                world.Ended.Add((WaitEnd.Delivered, c.Value ?? throw new InvalidOperationException($"Case {i} won with no value.")));
                c.Value = null;
                if (--left > 0) Wait(world);
            }
            var w = new ParkWorld(Wait, waits: selects);
            Scheduler.NextWaiting = nextWaiting; // after the world's Reset
            var run = new ModelRun
            {
                Invariant = () =>
                {
                    CheckG(w, selects);
                    foreach (var src in (ModelSource[])[a, b])
                        if (src.Queue.Distinct().Count() != src.Queue.Count) throw new InvalidOperationException("A select node is queued twice on one source.");
                },
                Final = () =>
                {
                    CheckSteps(w);
                    final(w, sel, a, b);
                },
            };
            for (int i = 1; i <= ms; i++) run.Thread("m" + i, w.RunM);
            var rs = racers(w, a, b);
            w.RacersLeft = rs.Length;
            foreach (var (name, body) in rs) run.Thread(name, w.Racer(body));
            return run;
        });
        output.WriteLine(result.ToString());
        output.WriteLine("Points reached: " + string.Join(", ", result.Points.Order()));
        return result;
    }

    /// <summary>
    /// Seeded bug: a poster's claim that trusts the node's Committed flag without asking whether the node is still
    /// queued. A waker that dequeued the node (and handed it the value) reads the flag only after its unlock, so the
    /// claim wins too; the waker then finds the flag cleared and signals through the owned protocol while the step the
    /// post caused has committed the node again: G ends the wait on a node that is still queued (or never, with the
    /// value lost).
    /// </summary>
    [Fact]
    public void FindsTheLostValue_OfAClaimThatTrustsTheFlag()
    {
        var e = Assert.Throws<ModelCheckException>(() =>
            Explore(new Stats(), 3, waits: 1, (w, chan, node) => [("poster", w.Post), ("waker", () => chan.Send(7))],
                (w, chan) => ExpectEnded(w, (WaitEnd.Delivered, 7)), PrimitiveBug.ClaimByFlagOnly));
        output.WriteLine(e.Message);
        Assert.Matches("still queued or committed|a lost wake-up", e.Message);
    }

    private static void ExpectParkedOnTheNode(ParkWorld w, OneSlotChan chan)
    {
        if (w.Ended.Count != 0) throw new InvalidOperationException("The wait ended with no completer.");
        if (Run(w.G) != RunParkedOnChan || chan.Queue.Count != 1 || !chan.Queue[0].Committed)
            throw new InvalidOperationException($"G is not parked on its committed node at the end: run word {Run(w.G)}, {chan.Queue.Count} nodes queued.");
    }

    private static void ExpectEnded(ParkWorld w, params (WaitEnd, int)[] expected)
    {
        if (!w.Ended.SequenceEqual(expected))
            throw new InvalidOperationException($"The waits ended as [{string.Join(", ", w.Ended)}], expected [{string.Join(", ", expected)}]" +
                (w.Ended.Count < expected.Length ? ": a lost wake-up." : "."));
        if (Run(w.G) != RunParked) throw new InvalidOperationException($"G's run word is {Run(w.G)} at the end, not Parked.");
    }

    private ModelResult Explore(Stats stats, int bound, int waits, Func<ParkWorld, OneSlotChan, OneSlotWaiter, (string, Action)[]> racers, Action<ParkWorld, OneSlotChan> final, PrimitiveBug bug = PrimitiveBug.None)
    {
        var result = ModelChecker.Explore(new ModelOptions { PreemptionBound = ModelBounds.Preemptions(bound) }, () =>
        {
            OneSlotWaiter? node = null;
            var w = new ParkWorld(world => world.DeferAndAwait(node!), waits);
            var chan = new OneSlotChan(w, bug);
            node = new OneSlotWaiter(chan, w.G);
            var run = new ModelRun
            {
                Invariant = () => Invariant(w, chan, waits),
                Final = () =>
                {
                    CheckSteps(w);
                    final(w, chan);
                    if (w.Ended.Count == 1 && !(w.Pool.Count == 1 && w.Pool[0] == node)) throw new InvalidOperationException("The node of the ended wait is not back in the pool.");
                    stats.Add(w);
                },
            };
            run.Thread("m", w.RunM);
            var rs = racers(w, chan, node);
            w.RacersLeft = rs.Length;
            foreach (var (name, body) in rs) run.Thread(name, w.Racer(body));
            return run;
        });
        output.WriteLine($"{result}; {stats}");
        output.WriteLine("Points reached: " + string.Join(", ", result.Points.Order()));
        return result;
    }

    private static void Invariant(ParkWorld w, OneSlotChan chan, int waits)
    {
        CheckG(w, waits);
        foreach (var n in w.Pool)
            if (chan.Queue.Contains(n) || n.Committed) throw new InvalidOperationException("A pooled node is still queued or committed.");
    }

    private static void CheckG(ParkWorld w, int waits)
    {
        if (w.RunQueue.Count > 1) throw new InvalidOperationException("G is in the run queue twice.");
        if (w.RunQueue.Count == 1 && Run(w.G) is not (RunQueued or RunResumed or RunQueuedToCommit))
            throw new InvalidOperationException($"G is in the run queue with run word {Run(w.G)}: readied while it runs or parks.");
        if (w.Ended.Count > waits) throw new InvalidOperationException($"{waits} waits ended {w.Ended.Count} times: {string.Join(", ", w.Ended)}.");
    }

    private static void CheckSteps(ParkWorld w)
    {
        if (w.RunQueue.Count != 0) throw new InvalidOperationException("G is still queued at the end.");
        if (w.Steps != w.Readies + 1) throw new InvalidOperationException($"{w.Readies} wake-ups but {w.Steps - 1} steps after the first.");
        if (w.MailRan != w.Posts) throw new InvalidOperationException($"{w.Posts} posts, {w.MailRan} of them ran.");
    }

    private static void AssertCovered(ModelResult result, params string[] members)
    {
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.Empty(result.NotReached(["RunStep", "HasMail", .. members]));
    }

    private sealed class Stats
    {
        public readonly int[] Outcomes = new int[3];
        public int Claims, ClaimsRefused, Schedules;

        public int Parked => Outcomes[(int)ParkOutcome.Parked];

        public int Completed => Outcomes[(int)ParkOutcome.Completed];

        public int Mail => Outcomes[(int)ParkOutcome.Mail];

        public void Add(ParkWorld w)
        {
            for (int i = 0; i < 3; i++) Outcomes[i] += w.Outcomes[i];
            Claims += w.Claims;
            ClaimsRefused += w.ClaimsRefused;
            Schedules++;
        }

        public override string ToString() =>
            $"commits: {Outcomes[(int)ParkOutcome.Parked]} parked, {Outcomes[(int)ParkOutcome.Completed]} completed, {Outcomes[(int)ParkOutcome.Mail]} mail; claims by a poster: {Claims} won, {ClaimsRefused} refused";
    }
}
