using System.Reflection;
using Weft.Threading;
using Xunit;

namespace Weft.Tests.Threading;

/// <summary>
/// The executor's lock-free ring on its own: FIFO, no task lost or duplicated across ring growth, the bound, and the
/// state word that stops admission.
/// </summary>
public sealed class WorkQueueTests
{
    [Fact]
    public void SingleThread_IsFifo_AcrossGrowth()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new WorkQueue(int.MaxValue);
            var items = Enumerable.Range(0, 20_000).Select(i => (object)i).ToArray();
            for (int round = 0; round < 2; round++) // the second round reuses the grown rings lap after lap
            {
                foreach (object item in items) Assert.True(q.TryEnqueue(item, int.MaxValue));
                Assert.Equal(items.Length, q.Count);
                foreach (object item in items)
                {
                    Assert.True(q.TryDequeue(out object got));
                    Assert.Same(item, got);
                }
                Assert.False(q.TryDequeue(out _));
                Assert.Equal(0, q.Count);
            }
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task ManyProducersAndTakers_LoseAndDuplicateNothing_AndKeepEachProducersOrder()
    {
        const int Producers = 3, Takers = 3, PerProducer = 100_000;
        var q = TestTimeout.Blocking(() => new WorkQueue(int.MaxValue));
        var boxes = Enumerable.Range(0, Producers * PerProducer).Select(i => (object)i).ToArray();
        var seen = new int[boxes.Length];
        int taken = 0;
        var producers = Enumerable.Range(0, Producers).Select(p => Dedicated(() =>
        {
            for (int i = 0; i < PerProducer; i++) Assert.True(q.TryEnqueue(boxes[p * PerProducer + i], int.MaxValue));
        }));
        var takers = Enumerable.Range(0, Takers).Select(_ => Dedicated(() =>
        {
            var last = new int[Producers];
            Array.Fill(last, -1);
            while (Volatile.Read(ref taken) < boxes.Length)
            {
                if (!q.TryDequeue(out object item)) continue;
                int v = (int)item;
                Interlocked.Increment(ref seen[v]);
                Interlocked.Increment(ref taken);
                int p = v / PerProducer;
                Assert.True(v > last[p], "One taker sees each producer's tasks in the order they were enqueued.");
                last[p] = v;
            }
        }));
        // Bounded by a stall, not by the whole run: on two loaded cores 300,000 tasks can outlast a short limit.
        await Task.WhenAll(producers.Concat(takers)).WithinProgress(
            () => Volatile.Read(ref taken), () => $"{Volatile.Read(ref taken)} of {boxes.Length} taken, Count {q.Count}");
        Assert.All(seen, n => Assert.Equal(1, n));
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void Bounded_RejectsAtTheLimit_AndAcceptsAgainAfterATake() => TestTimeout.Blocking(() =>
    {
        var q = new WorkQueue(3);
        for (int i = 0; i < 3; i++) Assert.True(q.TryEnqueue(i, 3));
        Assert.False(q.TryEnqueue(3, 3));
        Assert.True(q.TryDequeue(out object first));
        Assert.Equal(0, first);
        Assert.True(q.TryEnqueue(3, 3));
        Assert.Equal(3, q.Count);
    });

    [Fact]
    public void AdvancedState_AdmitsNothing_ButKeepsQueuedTasks_AndNeverGoesBack() => TestTimeout.Blocking(() =>
    {
        var q = new WorkQueue(int.MaxValue);
        Assert.True(q.TryEnqueue("a", int.MaxValue));
        q.AdvanceState(2);
        q.AdvanceState(1);
        Assert.Equal(2, q.State);
        Assert.False(q.TryEnqueue("b", int.MaxValue));
        Assert.True(q.TryDequeue(out object a));
        Assert.Equal("a", a);
        Assert.Equal(0, q.Count);
    });

    /// <summary>
    /// Enough tasks queued at once to grow past the largest ring (4,096) and link more than 64 further rings, so the
    /// 6-bit epoch wraps: FIFO and the count hold throughout, and a second round reuses nothing stale.
    /// </summary>
    [Fact]
    public void DeepQueue_WrapsTheEpoch_AndStaysFifo() => TestTimeout.Blocking(() =>
    {
        const int N = 70 * 4096 + 123;
        var q = new WorkQueue(int.MaxValue);
        var items = new object[N];
        for (int i = 0; i < N; i++) items[i] = i;
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < N; i++)
            {
                if (!q.TryEnqueue(items[i], int.MaxValue)) Assert.Fail($"enqueue {i} failed");
            }
            Assert.Equal(N, q.Count);
            for (int i = 0; i < N; i++)
            {
                if (!q.TryDequeue(out object got) || !ReferenceEquals(items[i], got)) Assert.Fail($"dequeue {i} was not item {i}");
            }
            Assert.False(q.TryDequeue(out _));
            Assert.Equal(0, q.Count);
        }
    });

    /// <summary>A bounded queue whose limit is above the largest ring grows to hold exactly the limit.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(4096)]
    [InlineData(10_000)]
    public void Bounded_HoldsExactlyTheLimit_AtAnySize(int limit) => TestTimeout.Blocking(() =>
    {
        var q = new WorkQueue(limit);
        for (int lap = 0; lap < 3; lap++)
        {
            for (int i = 0; i < limit; i++) Assert.True(q.TryEnqueue(i, limit));
            Assert.False(q.TryEnqueue(-1, limit));
            Assert.Equal(limit, q.Count);
            for (int i = 0; i < limit; i++)
            {
                Assert.True(q.TryDequeue(out object got));
                Assert.Equal(i, got);
            }
            Assert.False(q.TryDequeue(out _));
        }
    });

    [Fact]
    public void State_MovesOnlyForward_ThroughEveryValue_AndKeepsThePosition()
    {
        TestTimeout.Blocking(() =>
        {
            var q = new WorkQueue(int.MaxValue);
            Assert.Equal(WorkQueue.Running, q.State);
            Assert.True(q.TryEnqueue("a", int.MaxValue));
            q.AdvanceState(1);
            Assert.Equal(1, q.State);
            Assert.Equal(1, q.Count);
            q.AdvanceState(3);
            Assert.Equal(3, q.State);
            q.AdvanceState(2);
            Assert.Equal(3, q.State);
            Assert.Equal(1, q.Count);
            Assert.False(q.TryEnqueue("b", 10));
            Assert.True(q.TryDequeue(out object a));
            Assert.Equal("a", a);
            Assert.Equal(0, q.Count);
        });
    }

    /// <summary>
    /// The state changes while producers enqueue (and the ring grows): every enqueue that reported success is taken
    /// exactly once afterwards, none is admitted after the change, and the count agrees.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task AdvancingStateUnderLoad_AdmitsNothingAfter_AndLosesNothingBefore()
    {
        var q = TestTimeout.Blocking(() => new WorkQueue(int.MaxValue));
        int accepted = 0;
        bool stopped = false;
        using var going = new CountdownEvent(3);
        var producers = Enumerable.Range(0, 3).Select(p => Task.Run(() =>
        {
            going.Signal();
            for (int i = 0; i < 100_000; i++) // bounded, in case the state change comes late on a loaded machine
            {
                bool wasStopped = Volatile.Read(ref stopped);
                if (!q.TryEnqueue(p * 10_000_000 + i, int.MaxValue)) return;
                if (wasStopped) throw new InvalidOperationException("An enqueue was admitted after the state changed.");
                Interlocked.Increment(ref accepted);
            }
        })).ToArray();
        Assert.True(going.Wait(Wait.Limit));
        Wait.Until(() => q.Count >= 5_000 || producers.All(t => t.IsCompleted), "5,000 tasks are queued");
        TestTimeout.Blocking(() => q.AdvanceState(1)); // bounded: its CAS retries against the producers
        Volatile.Write(ref stopped, true);
        await Task.WhenAll(producers).WaitAsync(Wait.Limit);
        Assert.Equal(accepted, q.Count);
        var seen = new HashSet<int>();
        TestTimeout.Blocking(() => { while (q.TryDequeue(out object x)) Assert.True(seen.Add((int)x)); });
        Assert.Equal(accepted, seen.Count);
        Assert.Equal(0, q.Count);
    }

    /// <summary>A thread of its own: spinning producers and takers on the pool would wait for it to inject threads.</summary>
    private static Task Dedicated(Action body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // ---- the rings, read by reflection ---------------------------------------------------------------------------

    private static readonly FieldInfo TailRing = typeof(WorkQueue).GetField("_tailRing", BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly FieldInfo HeadRing = typeof(WorkQueue).GetField("_headRing", BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly Type RingType = TailRing.FieldType;
    private static object Field(object ring, string name) => RingType.GetField(name)!.GetValue(ring)!;
    private static int Size(object ring) => (int)Field(ring, "Size");
    private static int Epoch(object ring) => (int)Field(ring, "Epoch");
    private static object? Next(object ring) => RingType.GetField("Next")!.GetValue(ring);

    /// <summary>The items still referenced by a ring's slots.</summary>
    private static List<object> Held(object ring)
    {
        var slots = (Array)Field(ring, "Slots");
        var itemField = slots.GetType().GetElementType()!.GetField("Item")!;
        var held = new List<object>();
        foreach (object slot in slots)
        {
            if (itemField.GetValue(slot) is { } item) held.Add(item);
        }
        return held;
    }

    /// <summary>
    /// The first ring covers the capacity (a power of two from 64 up to 4,096), and each growth freezes the full ring
    /// and links one twice its size, up to 4,096, under the next epoch (mod 64): the sizing the essay promises, so a
    /// bounded queue at its limit never allocates and a deep one allocates in 4,096-slot steps.
    /// </summary>
    [Theory]
    [InlineData(1, 64)]
    [InlineData(64, 64)]
    [InlineData(65, 128)]
    [InlineData(1000, 1024)]
    [InlineData(4096, 4096)]
    [InlineData(4097, 4096)]
    [InlineData(int.MaxValue, 4096)]
    public void FirstRing_CoversTheCapacity_UpToTheLargestRing(int capacity, int size) => TestTimeout.Blocking(() =>
    {
        var q = new WorkQueue(capacity);
        object ring = TailRing.GetValue(q)!;
        Assert.Same(ring, HeadRing.GetValue(q));
        Assert.Equal(size, Size(ring));
        Assert.Equal(0, Epoch(ring));
        Assert.Null(Next(ring));
    });

    [Fact]
    public void Growth_DoublesTheRing_UpToTheLargest_UnderTheNextEpoch() => TestTimeout.Blocking(() =>
    {
        const int N = 70 * 4096;
        var q = new WorkQueue(1);
        object first = HeadRing.GetValue(q)!;
        for (int i = 0; i < N; i++)
        {
            if (!q.TryEnqueue(i, int.MaxValue)) Assert.Fail($"enqueue {i} failed");
        }
        var sizes = new List<int>();
        var epochs = new List<int>();
        int capacity = 0;
        for (object? r = first; r is not null; r = Next(r))
        {
            sizes.Add(Size(r));
            epochs.Add(Epoch(r));
            capacity += Size(r);
            if (sizes.Count > N) Assert.Fail("The rings are linked in a cycle.");
        }
        Assert.Equal(new[] { 64, 128, 256, 512, 1024, 2048, 4096 }, sizes.Take(7));
        Assert.All(sizes.Skip(7), s => Assert.Equal(4096, s));
        Assert.Same(TailRing.GetValue(q), Enumerable.Range(0, sizes.Count - 1).Aggregate(first, (r, _) => Next(r)!));
        for (int i = 1; i < epochs.Count; i++) Assert.Equal((epochs[i - 1] + 1) & 0x3F, epochs[i]);
        Assert.Contains(0, epochs.Skip(1)); // more than 64 rings: the epoch wrapped
        // A ring grows only when full: all but the last are full, and the last is not empty.
        Assert.InRange(N, capacity - Size(TailRing.GetValue(q)!) + 1, capacity);
    });

    /// <summary>
    /// A taken task is not kept alive by the queue: its slot is cleared when it is taken, on every ring, so an
    /// executor's finished closures are collectable at once.
    /// </summary>
    [Fact]
    public void TakenTasks_LeaveNoReferenceInAnySlot() => TestTimeout.Blocking(() =>
    {
        var q = new WorkQueue(int.MaxValue);
        const int N = 300; // three rings: 64, 128, 256
        object first = HeadRing.GetValue(q)!;
        for (int i = 0; i < N; i++) Assert.True(q.TryEnqueue(new object(), int.MaxValue));
        for (int i = 0; i < N - 1; i++) Assert.True(q.TryDequeue(out _));
        for (object? r = first; r is not null; r = Next(r))
        {
            int held = Held(r).Count;
            Assert.Equal(r == TailRing.GetValue(q) ? 1 : 0, held);
        }
        Assert.True(q.TryDequeue(out _));
        for (object? r = first; r is not null; r = Next(r)) Assert.Empty(Held(r));
    });

    /// <summary>
    /// A bounded queue whose first ring covers its limit never grows, even while takers are between their claim and
    /// their release of a slot that a producer wants for the next lap (it waits that out instead), and no task is
    /// lost, duplicated or reordered meanwhile.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task BoundedQueue_WhoseRingCoversTheLimit_NeverGrows_UnderLoad()
    {
        const int Limit = 64, Producers = 2, Takers = 2, PerProducer = 20_000;
        var q = TestTimeout.Blocking(() => new WorkQueue(Limit));
        object ring = TailRing.GetValue(q)!;
        var seen = new int[Producers * PerProducer];
        int taken = 0;
        var producers = Enumerable.Range(0, Producers).Select(p => Dedicated(() =>
        {
            for (int i = 0; i < PerProducer;)
            {
                if (q.TryEnqueue(p * PerProducer + i, Limit)) i++;
                else Thread.SpinWait(20);
                // Count is a racy snapshot: it may exceed the limit while takers run, but is never negative.
                Assert.True(q.Count >= 0, "Count is never negative.");
            }
        }));
        var takers = Enumerable.Range(0, Takers).Select(_ => Dedicated(() =>
        {
            var last = new int[Producers];
            Array.Fill(last, -1);
            while (Volatile.Read(ref taken) < seen.Length)
            {
                if (!q.TryDequeue(out object item))
                {
                    Thread.SpinWait(20);
                    continue;
                }
                int v = (int)item;
                Interlocked.Increment(ref seen[v]);
                Interlocked.Increment(ref taken);
                Assert.True(v > last[v / PerProducer], "One taker sees each producer's tasks in the order they were enqueued.");
                last[v / PerProducer] = v;
            }
        }));
        await Task.WhenAll(producers.Concat(takers)).WithinProgress(
            () => Volatile.Read(ref taken), () => $"{Volatile.Read(ref taken)} of {seen.Length} taken, Count {q.Count}", Wait.Limit);
        Assert.All(seen, n => Assert.Equal(1, n));
        Assert.Equal(0, q.Count);
        Assert.Same(ring, TailRing.GetValue(q));
        Assert.Null(Next(ring));
    }
}
