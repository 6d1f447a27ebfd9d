using Weft.Threading;
using Xunit;

namespace Weft.Tests.Threading;

/// <summary>
/// The executor's lock-free ring on its own: FIFO, no task lost or duplicated across ring growth, the bound, and the
/// state word that stops admission.
/// </summary>
public sealed class WorkQueueTests
{
    [Fact(Timeout = 30_000)]
    public async Task SingleThread_IsFifo_AcrossGrowth()
    {
        await Task.Run(() =>
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
        var q = new WorkQueue(int.MaxValue);
        var boxes = Enumerable.Range(0, Producers * PerProducer).Select(i => (object)i).ToArray();
        var seen = new int[boxes.Length];
        int taken = 0;
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(() =>
        {
            for (int i = 0; i < PerProducer; i++) Assert.True(q.TryEnqueue(boxes[p * PerProducer + i], int.MaxValue));
        }));
        var takers = Enumerable.Range(0, Takers).Select(_ => Task.Run(() =>
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
        await Task.WhenAll(producers.Concat(takers)).WaitAsync(Wait.Limit);
        Assert.All(seen, n => Assert.Equal(1, n));
        Assert.Equal(0, q.Count);
    }

    [Fact(Timeout = 30_000)]
    public Task Bounded_RejectsAtTheLimit_AndAcceptsAgainAfterATake() => Task.Run(() =>
    {
        var q = new WorkQueue(3);
        for (int i = 0; i < 3; i++) Assert.True(q.TryEnqueue(i, 3));
        Assert.False(q.TryEnqueue(3, 3));
        Assert.True(q.TryDequeue(out object first));
        Assert.Equal(0, first);
        Assert.True(q.TryEnqueue(3, 3));
        Assert.Equal(3, q.Count);
    });

    [Fact(Timeout = 30_000)]
    public Task AdvancedState_AdmitsNothing_ButKeepsQueuedTasks_AndNeverGoesBack() => Task.Run(() =>
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
}
