using System.Runtime.CompilerServices;
using Weft.ModelCheck.Harness;
using Weft.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Weft.ModelCheck;

/// <summary>
/// The local run queue (src/Weft/Runtime/RunQueue.cs, compiled here with Capacity 4) under its owner and one or two
/// thieves, every schedule within the preemption bound. Checked after every step: each ring's 0 &lt;= tail - head
/// &lt;= Capacity (no torn head/tail). Checked at the end: every goroutine pushed is taken exactly once, by the owner's
/// Pop, a thief's steal, the overflow to the global queue, or the final drain; each consumer takes ring entries in
/// the order they entered the ring (FIFO from the head); a steal takes a contiguous run from the head; runnext is
/// taken only by the owner, before the ring (the file's rules).
/// </summary>
public sealed class RunQueueModelTests(ITestOutputHelper output)
{
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_head")]
    private static extern ref uint Head(LocalRunQueue q);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_tail")]
    private static extern ref uint Tail(LocalRunQueue q);

    /// <summary>
    /// Owner: Push 1, 2, 3, Pop, Push 4, 5, 6 (the ring of 4 overflows to the global queue unless the thief took
    /// some), Pop. Thief: two rounds of StealInto its own queue, each followed by popping what it stole (an M steals
    /// only into an empty queue). 2 threads, preemption bound 3: 6,013 schedules, complete (counted when written; the
    /// count moves when a ModelPoint is added or removed).
    /// </summary>
    [Fact]
    public void OwnerPushPopWithOverflow_AgainstOneThief()
    {
        var result = Check(3, PushPopWithOverflow, thieves: 1, stealRounds: 2);
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.Empty(result.NotReached("PushSlow", "Grab", "StealInto", "Pop"));
    }

    /// <summary>
    /// The same owner and thief as <see cref="OwnerPushPopWithOverflow_AgainstOneThief"/>, with every queue's head and
    /// tail starting 2 below uint.MaxValue, so they wrap around to 0 during the run (the ring arithmetic is modulo
    /// 2^32 by design). 2 threads, preemption bound 2: 524 schedules, complete.
    /// </summary>
    [Fact]
    public void OwnerPushPopWithOverflow_AcrossIndexWraparound()
    {
        var result = Check(2, PushPopWithOverflow, thieves: 1, stealRounds: 2, startIndex: uint.MaxValue - 1);
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.Empty(result.NotReached("PushSlow", "Grab", "StealInto", "Pop"));
    }

    /// <summary>
    /// Owner: Push 1..5 (the fifth overflows unless a thief took some), Pop. Two thieves, one StealInto round each.
    /// 3 threads, preemption bound 2: 2,950 schedules, complete (bound 3, run once by hand: 47,142, no violation).
    /// </summary>
    [Fact]
    public void OwnerPushWithOverflow_AgainstTwoThieves()
    {
        var result = Check(2, owner =>
        {
            for (int i = 1; i <= 5; i++) owner.Push(i);
            owner.Pop();
        }, thieves: 2, stealRounds: 1);
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.Empty(result.NotReached("PushSlow", "Grab", "StealInto"));
    }

    /// <summary>
    /// runnext: Owner: PushNext(101) (runnext was empty), PushNext(102) (101 moves to the ring), Push 2, Pop (must be
    /// 102, from runnext), TryPutNext(103), Pop (must be 103), Push 3, PushReleasingNext(4) (a thief asked for
    /// runnext: it is empty, so only 4 goes to the ring), Pop with skipNext. Ring entries are numbered 1..4 in the
    /// order they enter the ring (101 enters as the ring's first). One thief, two StealInto rounds: it must never
    /// get 102 or 103, which never leave runnext. 2 threads, preemption bound 3: 4,630 schedules, complete.
    /// </summary>
    [Fact]
    public void RunnextStaysWithTheOwner_AgainstOneThief()
    {
        var result = Check(3, owner =>
        {
            owner.PushNext(101, expectDisplaced: false);
            owner.PushNext(102, expectDisplaced: true);
            owner.Push(2);
            owner.PopExpect(102, fromNext: true);
            owner.TryPutNext(103);
            owner.PopExpect(103, fromNext: true);
            owner.Push(3);
            owner.PushReleasingNext(4);
            owner.Pop(skipNext: true);
        }, thieves: 1, stealRounds: 2, ringOrder: [101, 2, 3, 4], runnextOnly: [102, 103]);
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.Empty(result.NotReached("PushNext", "TryPutNext", "PushReleasingNext", "Grab"));
    }

    /// <summary>Push 1, 2, 3, Pop, Push 4, 5, 6 (the ring of 4 overflows unless a thief took some), Pop.</summary>
    private static void PushPopWithOverflow(Owner owner)
    {
        owner.Push(1); owner.Push(2); owner.Push(3);
        owner.Pop();
        owner.Push(4); owner.Push(5); owner.Push(6);
        owner.Pop();
    }

    private ModelResult Check(int bound, Action<Owner> ownerScript, int thieves, int stealRounds, int[]? ringOrder = null, int[]? runnextOnly = null, uint startIndex = 0)
    {
        var result = ModelChecker.Explore(new ModelOptions { PreemptionBound = ModelBounds.Preemptions(bound) }, () =>
        {
            Scheduler.Reset();
            var q = new LocalRunQueue();
            var owner = new Owner(q);
            var thiefQueues = Enumerable.Range(0, thieves).Select(_ => new LocalRunQueue()).ToArray();
            foreach (var x in thiefQueues.Prepend(q)) Head(x) = Tail(x) = startIndex;
            var stolen = thiefQueues.Select(_ => new List<List<int>>()).ToArray();
            var run = new ModelRun().Thread("owner", () => ownerScript(owner));
            for (int t = 0; t < thieves; t++)
            {
                var mine = thiefQueues[t];
                var batches = stolen[t];
                run.Thread("thief" + t, () =>
                {
                    for (int r = 0; r < stealRounds; r++)
                    {
                        if (q.StealInto(mine) is not { } g) continue;
                        var batch = new List<int>();
                        while (mine.Pop(skipNext: true, out _) is { } rest) batch.Add(rest.ModelId());
                        batch.Add(g.ModelId());
                        batches.Add(batch);
                    }
                });
            }
            run.Invariant = () =>
            {
                foreach (var x in thiefQueues.Prepend(q))
                {
                    uint n = Tail(x) - Head(x);
                    if (n > LocalRunQueue.Capacity) throw new InvalidOperationException($"tail - head = {n}: a ring holds at most {LocalRunQueue.Capacity}.");
                }
            };
            run.Final = () => CheckTakenOnce(q, owner, stolen, ringOrder, runnextOnly);
            return run;
        });
        output.WriteLine(result.ToString());
        output.WriteLine("Points reached: " + string.Join(", ", result.Points.Order()));
        return result;
    }

    private static void CheckTakenOnce(LocalRunQueue q, Owner owner, List<List<int>>[] stolen, int[]? ringOrder, int[]? runnextOnly)
    {
        var global = new List<int>();
        while (Scheduler.Global.PopBatch(null, 1) is { } g) global.Add(g.ModelId());
        var left = new List<Goroutine>();
        q.DrainTo(left);
        if (!q.IsEmpty || q.Count != 0) throw new InvalidOperationException($"The drained queue still counts {q.Count}.");

        var taken = owner.Taken.Concat(stolen.SelectMany(s => s.SelectMany(b => b))).Concat(global).Concat(left.Select(g => g.ModelId())).ToList();
        var pushed = owner.Pushed.OrderBy(x => x).ToList();
        if (!taken.OrderBy(x => x).SequenceEqual(pushed))
            throw new InvalidOperationException($"Pushed [{string.Join(",", pushed)}] but taken [{string.Join(",", taken)}] (owner {string.Join(",", owner.Taken)}; thieves {string.Join(" ", stolen.Select(s => string.Join("|", s.Select(b => string.Join(",", b)))))}; global {string.Join(",", global)}; left {string.Join(",", left)}).");

        int Rank(int id) => ringOrder is null ? id : Array.IndexOf(ringOrder, id);
        void Increasing(IEnumerable<int> ids, string who)
        {
            var ranks = ids.Where(id => runnextOnly is null || !runnextOnly.Contains(id)).Select(Rank).ToList();
            for (int i = 1; i < ranks.Count; i++)
                if (ranks[i] <= ranks[i - 1]) throw new InvalidOperationException($"{who} took ring entries out of order: [{string.Join(",", ids)}].");
        }
        Increasing(owner.Taken, "the owner");
        Increasing(global, "the global queue");
        foreach (var s in stolen)
        {
            Increasing(s.SelectMany(b => b), "a thief");
            foreach (var b in s)
            {
                for (int i = 1; i < b.Count; i++)
                    if (Rank(b[i]) != Rank(b[i - 1]) + 1) throw new InvalidOperationException($"A steal took [{string.Join(",", b)}], not a contiguous run of the ring.");
                if (runnextOnly is not null && b.Any(runnextOnly.Contains)) throw new InvalidOperationException($"A thief took runnext's goroutine: [{string.Join(",", b)}].");
            }
        }
    }

    /// <summary>The owning M's side: each operation on the real queue, with what it pushed and took.</summary>
    private sealed class Owner(LocalRunQueue q)
    {
        public readonly List<int> Pushed = [];
        public readonly List<int> Taken = [];

        public void Push(int id)
        {
            Pushed.Add(id);
            q.Push(Goroutines.New(id));
        }

        public void PushNext(int id, bool expectDisplaced)
        {
            Pushed.Add(id);
            bool displaced = q.PushNext(Goroutines.New(id));
            if (displaced != expectDisplaced) throw new InvalidOperationException($"PushNext({id}) returned {displaced}.");
        }

        public void TryPutNext(int id)
        {
            if (!q.TryPutNext(Goroutines.New(id))) throw new InvalidOperationException($"TryPutNext({id}) found runnext occupied after it was popped.");
            Pushed.Add(id);
        }

        public void PushReleasingNext(int id)
        {
            Pushed.Add(id);
            q.PushReleasingNext(Goroutines.New(id));
        }

        public void Pop(bool skipNext = false)
        {
            if (q.Pop(skipNext, out _) is { } g) Taken.Add(g.ModelId());
        }

        public void PopExpect(int id, bool fromNext)
        {
            var g = q.Pop(false, out bool next);
            if (g?.ModelId() != id || next != fromNext) throw new InvalidOperationException($"Pop returned {(g is null ? "null" : "g" + g.ModelId())} (fromNext {next}), expected g{id} (fromNext {fromNext}).");
            Taken.Add(id);
        }
    }
}
