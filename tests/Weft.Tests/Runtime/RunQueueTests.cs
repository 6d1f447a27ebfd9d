using Weft.Runtime;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// The run queues on their own, without a running scheduler: a P's local ring with its runnext slot (owner push and
/// pop, thieves stealing half, overflow of half the ring to the global queue) and the global queue (FIFO, the fair
/// share moved into a local queue). The invariant everywhere: every goroutine is delivered exactly once, in FIFO
/// order where the queue promises it.
/// </summary>
/// <remarks>
/// The goroutines here are records that are never run, except those a full ring spills into the process-wide
/// global queue: when a scheduler is running in this process (other tests started one) it may take those first,
/// so they are real goroutines, registered like <c>Go.Run</c>'s, whose body records the delivery; the test takes
/// back the ones the scheduler did not, and ends them with <see cref="Goroutine.Abandon"/> so the registry's count
/// stays right. Each single-threaded test runs its body on a thread of its own, bounded (<c>TestTimeout.Blocking</c>):
/// a mutated ring loop that never ends then fails the test instead of hanging the run.
/// </remarks>
public sealed class RunQueueTests
{
    private const int Cap = LocalRunQueue.Capacity;

    /// <summary>Goroutine records for queues that never run them; each one's index is kept in its (unused) line.</summary>
    private static Goroutine[] Make(int n) =>
        Enumerable.Range(0, n).Select(i => new Goroutine(Goroutine.StartFunc, (Func<Task>)(() => Task.CompletedTask), null, null, i)).ToArray();

    private static int Ix(Goroutine? g) => g is null ? -1 : g.Line;

    private static List<int> PopAll(LocalRunQueue q, bool skipNext = false) =>
        Drain(() => q.Pop(skipNext, out _)).Select(Ix).ToList();

    /// <summary>
    /// Takes until <paramref name="take"/> returns null. Every loop in these tests is bounded, so a broken queue
    /// fails an assertion instead of hanging: no queue here ever holds more than <paramref name="max"/>.
    /// </summary>
    private static List<Goroutine> Drain(Func<Goroutine?> take, int max = 2 * Cap + 2)
    {
        var got = new List<Goroutine>();
        while (take() is { } g)
        {
            got.Add(g);
            if (got.Count > max) Assert.Fail($"More than {max} goroutines came out of a queue that never held that many.");
        }
        return got;
    }

    /// <summary>Throws once <paramref name="deadline"/> has passed: a consumer loop that a broken queue never lets end.</summary>
    private static void Within(DateTime deadline, string what)
    {
        if (DateTime.UtcNow > deadline) throw new TimeoutException($"Gave up waiting: {what}.");
    }

    // ---- the local ring, one thread --------------------------------------------------------------------------

    [Fact]
    public void Ring_IsFifo_AcrossManyLaps_AndCountsExactly()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new LocalRunQueue();
            var gs = Make(Cap);
            Assert.True(q.IsEmpty && q.RingIsEmpty);
            Assert.Equal(0, q.Count);
            int next = 0, expected = 0;
            for (int lap = 0; lap < 10; lap++)
            {
                // Fill to exactly the capacity (no spill), then drain part of it, so the indices wrap the ring many times.
                for (int held = next - expected; held < Cap; held++) q.Push(gs[next++ % Cap]);
                Assert.Equal(Cap, q.Count);
                Assert.False(q.IsEmpty || q.RingIsEmpty);
                for (int i = 0; i < 100; i++)
                {
                    Assert.Same(gs[expected++ % Cap], q.Pop(skipNext: false, out bool fromNext));
                    Assert.False(fromNext);
                }
                Assert.Equal(Cap - 100, q.Count);
            }
            var rest = PopAll(q);
            Assert.Equal(Enumerable.Range(expected, next - expected).Select(i => i % Cap), rest);
            Assert.True(q.IsEmpty && q.RingIsEmpty);
            Assert.Equal(0, q.Count);
            Assert.Null(q.Pop(skipNext: false, out bool none));
            Assert.False(none);
        });
    }

    [Fact]
    public void Runnext_RunsFirst_APushNextMovesTheOldOneToTheTail()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new LocalRunQueue();
            var g = Make(5);
            q.Push(g[0]);
            Assert.False(q.HasNext);
            Assert.False(q.PushNext(g[1])); // runnext was empty: nothing moved, nobody worth waking
            Assert.True(q.HasNext);
            Assert.Equal(2, q.Count);
            Assert.True(q.PushNext(g[2]));  // g[1] moves to the tail of the ring
            Assert.Equal(3, q.Count);
            Assert.False(q.RingIsEmpty);

            Assert.Same(g[2], q.Pop(skipNext: false, out bool fromNext));
            Assert.True(fromNext);
            Assert.False(q.HasNext);
            Assert.Same(g[0], q.Pop(skipNext: false, out fromNext));
            Assert.False(fromNext);
            Assert.Same(g[1], q.Pop(skipNext: false, out fromNext));
            Assert.False(fromNext);
            Assert.True(q.IsEmpty);
        });
    }

    [Fact]
    public void TryPutNext_FillsOnlyAnEmptySlot()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new LocalRunQueue();
            var g = Make(2);
            Assert.True(q.TryPutNext(g[0]));
            Assert.False(q.TryPutNext(g[1]));
            Assert.Equal(1, q.Count);
            Assert.True(q.RingIsEmpty);
            Assert.False(q.IsEmpty);
            Assert.Same(g[0], q.Pop(skipNext: false, out bool fromNext));
            Assert.True(fromNext);
            Assert.True(q.IsEmpty);
        });
    }

    [Fact]
    public void SkipNext_TakesTheRingFirst_AndRunnextOnlyWhenTheRingIsEmpty()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new LocalRunQueue();
            var g = Make(3);
            q.Push(g[0]);
            q.Push(g[1]);
            q.PushNext(g[2]);
            Assert.Same(g[0], q.Pop(skipNext: true, out bool fromNext));
            Assert.False(fromNext);
            Assert.Same(g[1], q.Pop(skipNext: true, out fromNext));
            Assert.False(fromNext);
            Assert.True(q.HasNext);
            Assert.Same(g[2], q.Pop(skipNext: true, out fromNext));
            Assert.True(fromNext);
            Assert.False(q.HasNext);
            Assert.Null(q.Pop(skipNext: true, out fromNext));
            Assert.False(fromNext);
        });
    }

    [Fact]
    public void PushReleasingNext_MovesRunnextThenTheNewOneToTheRing()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new LocalRunQueue();
            var g = Make(4);
            q.PushNext(g[0]);
            q.PushReleasingNext(g[1]);
            Assert.False(q.HasNext);
            Assert.Equal(2, q.Count);
            q.PushReleasingNext(g[2]); // no runnext now: just appended
            Assert.False(q.HasNext);
            Assert.Equal([0, 1, 2], PopAll(q));

            // A thief can take both from the ring now (runnext is never stolen).
            var thief = new LocalRunQueue();
            q.PushNext(g[3]);
            Assert.Null(q.StealInto(thief));
            q.PushReleasingNext(g[0]);
            Assert.Same(g[3], q.StealInto(thief)); // half of two is one: the oldest, g[3]
            Assert.Equal([0], PopAll(q));
        });
    }

    [Fact]
    public void TakeNextForThief_TakesOnlyRunnext()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new LocalRunQueue();
            var g = Make(2);
            Assert.Null(q.TakeNextForThief());
            q.Push(g[0]);
            Assert.Null(q.TakeNextForThief());
            q.PushNext(g[1]);
            Assert.Same(g[1], q.TakeNextForThief());
            Assert.False(q.HasNext);
            Assert.Null(q.TakeNextForThief());
            Assert.Equal([0], PopAll(q));
        });
    }

    [Fact]
    public void DrainTo_TakesRunnextThenTheRingInOrder()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new LocalRunQueue();
            var g = Make(4);
            q.Push(g[0]);
            q.Push(g[1]);
            q.PushNext(g[2]);
            var into = new List<Goroutine>();
            q.DrainTo(into);
            Assert.Equal([2, 0, 1], into.Select(Ix));
            Assert.True(q.IsEmpty);
            Assert.Equal(0, q.Count);
            q.DrainTo(into);
            Assert.Equal(3, into.Count);
            q.Push(g[3]); // still usable
            Assert.Equal([3], PopAll(q));
        });
    }

    // ---- stealing, one thread -------------------------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(Cap)]
    public void StealInto_TakesTheOlderHalfRoundedUp_ReturnsTheNewestOfThem_AndKeepsOrder(int n)
    {
        TestTimeout.Blocking(() =>
        {
            var victim = new LocalRunQueue();
            var thief = new LocalRunQueue();
            var g = Make(n + 1);
            for (int i = 0; i < n; i++) victim.Push(g[i]);
            victim.PushNext(g[n]); // runnext is never stolen
            int stolen = n - n / 2;

            var run = victim.StealInto(thief);
            Assert.Equal(stolen - 1, Ix(run));
            Assert.Equal(stolen - 1, thief.Count);
            Assert.True(thief.HasNext is false);
            Assert.Equal(n - stolen + 1, victim.Count);
            Assert.Equal(Enumerable.Range(0, stolen - 1), PopAll(thief));
            Assert.True(thief.RingIsEmpty);
            Assert.Equal(Enumerable.Range(stolen, n - stolen).Prepend(n), PopAll(victim));
        });
    }

    [Fact]
    public void StealInto_AppendsAfterWhatTheThiefAlreadyHas_AcrossTheRingsWrap()
    {
        TestTimeout.Blocking(() =>
        {
            var victim = new LocalRunQueue();
            var thief = new LocalRunQueue();
            var g = Make(Cap + 40);
            // Move the thief's indices near the end of its ring so the stolen run wraps.
            for (int i = 0; i < Cap - 5; i++) thief.Push(g[0]);
            for (int i = 0; i < Cap - 5; i++) thief.Pop(skipNext: false, out _);
            thief.Push(g[Cap + 1]);
            thief.Push(g[Cap + 2]);
            for (int i = 0; i < 20; i++) victim.Push(g[i]);

            var run = victim.StealInto(thief);
            Assert.Same(g[9], run);
            Assert.Equal([Cap + 1, Cap + 2, 0, 1, 2, 3, 4, 5, 6, 7, 8], PopAll(thief));
            Assert.Equal(Enumerable.Range(10, 10), PopAll(victim));
        });
    }

    [Theory]
    [InlineData(2)]
    [InlineData(10)]
    [InlineData(Cap)]
    public void StealInto_LeavesNoReferenceToAGoroutineBeyondTheThiefsTail(int n)
    {
        TestTimeout.Blocking(() =>
        {
            // The slot of the goroutine the thief returns to run, and every slot past the thief's tail, must be empty
            // after the steal: a reference left there keeps a finished goroutine (and everything its body captured) alive
            // until that slot is reused, and only what lies below the tail is the thief's queue.
            var ring = typeof(LocalRunQueue).GetField("_ring", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
            var victim = new LocalRunQueue();
            var thief = new LocalRunQueue();
            var g = Make(n);
            foreach (var x in g) victim.Push(x);
            var run = victim.StealInto(thief);
            Assert.NotNull(run);
            var slots = (Goroutine?[])ring.GetValue(thief)!;
            int queued = thief.Count;
            Assert.All(slots.Skip(queued), slot => Assert.Null(slot));
            Assert.DoesNotContain(run, slots);
        });
    }

    [Fact]
    public void StealInto_FromAnEmptyRing_TakesNothing()
    {
        TestTimeout.Blocking(() =>
        {
            var victim = new LocalRunQueue();
            var thief = new LocalRunQueue();
            Assert.Null(victim.StealInto(thief));
            Assert.True(thief.IsEmpty);
            var g = Make(2);
            victim.Push(g[0]);
            victim.Pop(skipNext: false, out _);
            Assert.Null(victim.StealInto(thief));
            thief.Push(g[1]);
            Assert.Null(victim.StealInto(thief));
            Assert.Equal([1], PopAll(thief)); // the thief's own queue untouched
        });
    }

    // ---- owner against thieves -------------------------------------------------------------------------------

    /// <summary>
    /// One owner pushes (some into runnext) and pops; three thieves steal half at a time into their own queues and
    /// pop from those. No goroutine is lost or delivered twice, and each thief sees the ring's order: what it takes
    /// comes out in push order.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task OwnerAndThieves_DeliverEveryGoroutineExactlyOnce()
    {
        const int N = 200_000, Thieves = 3;
        var victim = new LocalRunQueue();
        var g = Make(N);
        var delivered = new int[N];
        int total = 0;
        bool ownerDone = false;

        void Deliver(Goroutine x)
        {
            Interlocked.Increment(ref delivered[Ix(x)]);
            Interlocked.Increment(ref total);
        }

        var thieves = Enumerable.Range(0, Thieves).Select(t => Task.Run(() =>
        {
            var mine = new LocalRunQueue();
            int last = -1;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
            while (!Volatile.Read(ref ownerDone) || !victim.RingIsEmpty)
            {
                Within(deadline, "the owner to finish and the ring to empty");
                var run = victim.StealInto(mine);
                if (run is null) { Thread.SpinWait(20); continue; }
                var batch = PopAll(mine);
                batch.Add(Ix(run)); // the returned one is the newest stolen
                foreach (int i in batch)
                {
                    if (i <= last) throw new InvalidOperationException($"A thief saw {i} after {last}: the ring's order broke.");
                    last = i;
                    Deliver(g[i]);
                }
            }
        })).ToArray();

        var owner = Task.Run(() =>
        {
            var rng = new Random(13);
            for (int i = 0; i < N; i++)
            {
                // Keep the ring below capacity: this test is about stealing, the spill is tested on its own.
                for (int spins = 0; victim.Count >= Cap - 1; spins++)
                {
                    if (victim.Pop(skipNext: true, out _) is { } p) Deliver(p);
                    if (spins > 10 * Cap) throw new InvalidOperationException("A full ring never drained.");
                }
                // runnext only when empty (TryPutNext), so the ring holds its goroutines in index order: PushNext
                // would move an older one behind newer ones, which the thieves' order check would misread.
                bool next = rng.Next(8) == 0 && victim.TryPutNext(g[i]);
                if (!next) victim.Push(g[i]);
                if (rng.Next(3) == 0 && victim.Pop(skipNext: rng.Next(4) == 0, out _) is { } x) Deliver(x);
            }
            if (victim.TakeNextForThief() is { } n) Deliver(n); // the owner's last runnext goes too
            foreach (var x in Drain(() => victim.Pop(skipNext: false, out _))) Deliver(x);
            Volatile.Write(ref ownerDone, true);
        });

        await Task.WhenAll(thieves.Append(owner)).WaitAsync(TimeSpan.FromSeconds(50));
        Assert.Equal(N, total);
        Assert.All(delivered, d => Assert.Equal(1, d));
    }

    // ---- overflow into the global queue ----------------------------------------------------------------------

    /// <summary>
    /// Real goroutines for the spill tests: registered as Go.Run's are, and a body that records the delivery if a
    /// scheduler running in this process takes one from the global queue first.
    /// </summary>
    private sealed class Spill
    {
        public readonly Goroutine[] G;
        public readonly int[] Delivered;
        private readonly HashSet<Goroutine> _mine;
        private int _total;

        public Spill(int n)
        {
            Delivered = new int[n];
            G = new Goroutine[n];
            for (int i = 0; i < n; i++)
            {
                int index = i;
                G[i] = new Goroutine(Goroutine.StartFunc, (Func<Task>)(() => { Record(index); return Task.CompletedTask; }), null, null, i);
                Registry.Add(G[i]);
            }
            _mine = [.. G];
        }

        public int Total => Volatile.Read(ref _total);

        private void Record(int i)
        {
            Interlocked.Increment(ref Delivered[i]);
            Interlocked.Increment(ref _total);
        }

        /// <summary>The test took <paramref name="g"/> out of a queue: record it and end it (it will never run).</summary>
        public void Take(Goroutine g)
        {
            Record(Ix(g));
            g.Abandon();
        }

        /// <summary>
        /// Takes this test's goroutines back from the global queue, in the order it holds them; a goroutine of
        /// someone else's (a scheduler's leftover) goes back to the tail. Those a scheduler runs meanwhile record
        /// themselves. Returns the indices taken here.
        /// </summary>
        public List<int> TakeFromGlobal()
        {
            var got = new List<int>();
            var foreign = new List<Goroutine>();
            for (int tries = 0; tries < 10_000 && Scheduler.Global.PopBatch(null, 1) is { } g; tries++)
            {
                if (_mine.Contains(g)) { got.Add(Ix(g)); Take(g); }
                else foreign.Add(g);
            }
            foreach (var f in foreign) Scheduler.Global.Push(f);
            return got;
        }

        public void AssertEachDeliveredOnce()
        {
            // Only a running scheduler can still deliver some (it runs what it took from the global queue); with
            // none in this process, what is missing now is lost.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (Total < G.Length && Scheduler.ThreadCount > 0 && DateTime.UtcNow < deadline) Thread.Sleep(1);
            Assert.Equal(G.Length, Total);
            Assert.All(Delivered, d => Assert.Equal(1, d));
        }
    }

    [Fact]
    public void Push_OnAFullRing_SpillsTheOlderHalfAndTheNewOneToTheGlobalQueue_InOrder()
    {
        TestTimeout.Blocking(() =>
        {
            const int Next = Cap, Extra = Cap + 1;
            var s = new Spill(Cap + 2);
            var q = new LocalRunQueue();
            q.PushNext(s.G[Next]); // runnext stays put
            for (int i = 0; i < Cap; i++) q.Push(s.G[i]); // exactly full: no spill yet
            Assert.Equal(Cap + 1, q.Count);
            Assert.Empty(s.TakeFromGlobal());

            q.Push(s.G[Extra]); // the ring is full: 0..127 and this one go to the global queue, one batch
            Assert.Equal(Cap / 2 + 1, q.Count);
            Assert.True(q.HasNext);

            // Whatever a running scheduler left in the global queue comes out in the batch's order.
            var fromGlobal = s.TakeFromGlobal();
            Assert.Equal(fromGlobal.Order(), fromGlobal);
            Assert.All(fromGlobal, i => Assert.True(i < Cap / 2 || i == Extra, $"{i} was not spilled"));
            if (Scheduler.ThreadCount == 0) Assert.Equal(Enumerable.Range(0, Cap / 2).Append(Extra), fromGlobal);

            // The newer half stays, in order, behind runnext.
            var local = new List<int>();
            foreach (var g in Drain(() => q.Pop(skipNext: false, out _))) { local.Add(Ix(g)); s.Take(g); }
            Assert.Equal(Enumerable.Range(Cap / 2, Cap / 2).Prepend(Next), local);
            s.AssertEachDeliveredOnce();
        });
    }

    /// <summary>
    /// A full ring spills while thieves steal from it: the spill's claim on the head races the thieves' claims.
    /// Every goroutine still ends up exactly once in a thief's hands, the owner's, or the global queue.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Spill_RacingThieves_DeliversEveryGoroutineExactlyOnce()
    {
        const int N = 50_000;
        var s = new Spill(N);
        var victim = new LocalRunQueue();
        bool ownerDone = false;

        var thieves = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var mine = new LocalRunQueue();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
            while (!Volatile.Read(ref ownerDone) || !victim.RingIsEmpty)
            {
                Within(deadline, "the owner to finish and the ring to empty");
                var run = victim.StealInto(mine);
                if (run is null) { Thread.SpinWait(10); continue; }
                s.Take(run);
                foreach (var x in Drain(() => mine.Pop(skipNext: false, out _))) s.Take(x);
            }
        })).ToArray();

        var owner = Task.Run(() =>
        {
            for (int i = 0; i < N; i++)
            {
                victim.Push(s.G[i]); // a full ring spills; the thieves keep it from filling often
                if (i % 1024 == 0) s.TakeFromGlobal();
            }
            Volatile.Write(ref ownerDone, true);
        });

        await Task.WhenAll(thieves.Append(owner)).WaitAsync(TimeSpan.FromSeconds(50));
        foreach (var x in Drain(() => victim.Pop(skipNext: false, out _))) s.Take(x);
        s.TakeFromGlobal();
        s.AssertEachDeliveredOnce();
    }

    // ---- the global queue ------------------------------------------------------------------------------------

    [Fact]
    public void Global_IsFifo_AcrossPushAndBatches_AndCountsExactly()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new GlobalRunQueue();
            var g = Make(10);
            Assert.Null(q.PopBatch(null, 1));
            q.Push(g[0]);
            q.PushBatch([g[1], g[2], g[3]]);
            q.Push(g[4]);
            q.PushAll([g[5], g[6]]);
            q.PushAll([]);
            Assert.Equal(7, q.Count);
            var got = new List<int>();
            foreach (var x in Drain(() => q.PopBatch(null, 1)))
            {
                got.Add(Ix(x));
                Assert.Null(x.SchedLink); // a popped goroutine carries no stale link
            }
            Assert.Equal([0, 1, 2, 3, 4, 5, 6], got);
            Assert.Equal(0, q.Count);
            q.Push(g[7]); // usable again after running empty
            Assert.Same(g[7], q.PopBatch(null, 1));
            Assert.Null(q.PopBatch(null, 1));
        });
    }

    [Theory]
    [InlineData(10, 1, 10)]    // one P takes everything (count / procs + 1, capped by the count)
    [InlineData(10, 4, 3)]     // 10 / 4 + 1
    [InlineData(10, 20, 1)]    // at least the one to run
    [InlineData(1000, 1, 128)] // never more than half a local ring
    [InlineData(300, 2, 128)]  // 300 / 2 + 1 = 151, capped
    public void Global_PopBatch_TakesAFairShare_RunsTheOldest_AndQueuesTheRestInOrder(int queued, int procs, int share)
    {
        TestTimeout.Blocking(() =>
        {
            var q = new GlobalRunQueue();
            var g = Make(queued);
            q.PushBatch(g);
            var local = new LocalRunQueue();
            var run = q.PopBatch(local, procs);
            Assert.Same(g[0], run);
            Assert.Null(run!.SchedLink);
            Assert.Equal(share - 1, local.Count);
            Assert.Equal(queued - share, q.Count);
            var moved = Drain(() => local.Pop(skipNext: false, out _));
            Assert.Equal(g[1..share], moved);
            Assert.All(moved, x => Assert.Null(x.SchedLink));
            // What stays is still a proper FIFO list: every remaining one comes out once, in order.
            var rest = Drain(() => q.PopBatch(null, 1), max: queued);
            Assert.Equal(g[share..], rest);
            Assert.Equal(0, q.Count);
            q.Push(g[0]); // the tail was reset when the list ran dry
            Assert.Same(g[0], q.PopBatch(local, procs));
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Global_ManyProducersAndConsumers_LoseAndDuplicateNothing_AndKeepEachProducersOrder()
    {
        // Several rounds: a race on the list (a push or pop without the lock) loses or repeats a goroutine only when
        // two threads meet inside it, which one short round on two cores does not always bring about.
        for (int round = 0; round < 4; round++) await GlobalRound();
    }

    private static async Task GlobalRound()
    {
        const int Producers = 3, PerProducer = 30_000;
        var q = new GlobalRunQueue();
        var g = Make(Producers * PerProducer);
        var delivered = new int[g.Length];
        int total = 0;
        // Dedicated threads released together, so the producers really overlap each other and the consumers (Task.Run
        // on two cores would mostly run one producer's short loop after another's, and a missing lock would go unseen).
        using var start = new Barrier(Producers + 2);
        Task Thread(Action body) => Task.Factory.StartNew(() => { start.SignalAndWait(); body(); }, TaskCreationOptions.LongRunning);
        var producers = Enumerable.Range(0, Producers).Select(p => Thread(() =>
        {
            for (int i = 0; i < PerProducer; i += 3)
            {
                int b = p * PerProducer + i;
                if (i % 2 == 0) q.PushBatch([g[b], g[b + 1], g[b + 2]]);
                else { q.Push(g[b]); q.Push(g[b + 1]); q.Push(g[b + 2]); }
            }
        }));
        var consumers = Enumerable.Range(0, 2).Select(c => Thread(() =>
        {
            var local = new LocalRunQueue();
            var last = new int[Producers];
            Array.Fill(last, -1);
            var deadline = DateTime.UtcNow + TestTimeout.Default;
            while (Volatile.Read(ref total) < g.Length)
            {
                Within(deadline, "every goroutine to be taken");
                var run = q.PopBatch(c == 0 ? local : null, 3);
                if (run is null) continue;
                var batch = Drain(() => local.Pop(skipNext: false, out _)).Prepend(run);
                foreach (var x in batch)
                {
                    int i = Ix(x), p = i / PerProducer;
                    if (i <= last[p]) throw new InvalidOperationException($"Consumer {c} saw {i} after {last[p]}.");
                    last[p] = i;
                    Interlocked.Increment(ref delivered[i]);
                    Interlocked.Increment(ref total);
                }
            }
        }));
        await Task.WhenAll(producers.Concat(consumers)).Within(TestTimeout.Default + TimeSpan.FromSeconds(5));
        Assert.All(delivered, d => Assert.Equal(1, d));
        Assert.Equal(0, q.Count);
    }
}
