using Weft.Sync;
using Weft.Tests.Runtime;
using Xunit;
using static Weft.Tests.Sync.MutexParkTests;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Tests.Sync;

/// <summary>
/// A goroutine's uncancellable <see cref="Cond.WaitAsync"/> parks with a commit (Runtime/Park.cs): the waiter is queued
/// before L is unlocked, as always, but detached (Sync/Waiter.cs), so a Signal before the step ends marks it signalled
/// instead of waking it, and the commit at the step's end completes it or parks. These pin: no Signal is lost between
/// the call and the commit; a post that claims the park back keeps the waiter's FIFO place, and a Signal while the post
/// runs still goes to it; L is held whenever WaitAsync returns; and a producer/consumer run under a post storm, with
/// threads, loses and duplicates nothing.
/// </summary>
public class CondParkTests
{
    [Fact]
    public async Task ASignalBetweenTheCallAndTheStepsEnd_IsNotLost()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        for (int round = 0; round < 50; round++)
        {
            bool heldOnReturn = false;
            var g = ParkProtocolTests.RunGoroutine(async () =>
            {
                await mu.LockAsync();
                var wait = cond.WaitAsync(); // queued, L unlocked; the step has not ended
                cond.Signal();               // reaches the detached waiter: its commit must find it
                await wait;
                heldOnReturn = mu.IsLocked;
                mu.Unlock();
            });
            await g.Within();
            Assert.True(heldOnReturn);
            Assert.Equal(0, cond.Waiters.Count);
            Assert.False(mu.IsLocked);
        }
    }

    [Fact]
    public async Task APostToAGoroutineParkedInWaitAsync_KeepsItsPlace_AndASignalDuringThePostGoesToIt()
    {
        var mu = new Mutex();
        var cond = new Cond(mu);
        for (int round = 0; round < 20; round++)
        {
            var contexts = new SynchronizationContext?[2];
            var order = new List<int>();
            var waiters = new Task[2];
            for (int i = 0; i < 2; i++)
            {
                int me = i;
                waiters[i] = ParkProtocolTests.RunGoroutine(async () =>
                {
                    Volatile.Write(ref contexts[me], SynchronizationContext.Current);
                    await mu.LockAsync();
                    await cond.WaitAsync();
                    lock (order) order.Add(me); // L is held here, so the order is the wake order
                    mu.Unlock();
                });
                WaitUntil(() => cond.Waiters.Count == me + 1, $"waiter {me} is queued");
            }
            WaitUntil(() => cond.Waiters.HeadCommitted, "the first waiter is committed");
            int posts = 0;
            bool detachedDuringPost = false;
            // A post to the first waiter claims its park back where it stands; a Signal made during the post goes to
            // it (the longest waiter), is kept for its commit, and does not wake the second.
            Volatile.Read(ref contexts[0])!.Post(_ =>
            {
                detachedDuringPost = cond.Waiters is { Count: 2, HeadCommitted: false };
                cond.Signal();
                Interlocked.Increment(ref posts);
            }, null);
            await waiters[0].Within();
            Assert.Equal(1, posts);
            Assert.True(detachedDuringPost, "A claimed-back waiter keeps its FIFO place.");
            Assert.Equal(1, cond.Waiters.Count);
            cond.Signal();
            await waiters[1].Within();
            Assert.Equal([0, 1], order);
            Assert.False(mu.IsLocked);
        }
    }

    [Fact]
    public async Task ProducersAndConsumers_GoroutinesAndThreads_UnderAPostStorm_LoseAndDuplicateNothing()
    {
        const int consumers = 4, producers = 3;
        int perProducer = Stress.Scale(500);
        var mu = new Mutex();
        var cond = new Cond(mu);
        var queue = new Queue<int>();
        bool closed = false;
        var got = new int[producers * perProducer];
        int notHeld = 0;

        var producing = Enumerable.Range(0, producers).Select(p => p == 0
            ? Task.Factory.StartNew(() => Produce(p, blocking: true), TaskCreationOptions.LongRunning)
            : ParkProtocolTests.RunGoroutine(() => Produce(p, blocking: false))).ToArray();

        async Task Produce(int p, bool blocking)
        {
            for (int k = 0; k < perProducer; k++)
            {
                if (blocking) mu.Lock(); else await mu.LockAsync();
                queue.Enqueue(p * perProducer + k);
                cond.Signal();
                mu.Unlock();
            }
        }

        var consuming = UnderPostStorm(consumers, async _ =>
        {
            await mu.LockAsync();
            while (true)
            {
                while (queue.Count == 0 && !closed)
                {
                    await cond.WaitAsync();
                    if (!mu.IsLocked) Interlocked.Increment(ref notHeld);
                }
                if (queue.Count == 0) break;
                Interlocked.Increment(ref got[queue.Dequeue()]);
            }
            mu.Unlock();
        });
        await Task.WhenAll(producing).Within();
        await mu.LockAsync().Within();
        closed = true;
        cond.Broadcast();
        mu.Unlock();
        await consuming;
        Assert.Equal(0, notHeld);
        Assert.All(got, n => Assert.Equal(1, n));
        Assert.Equal(0, cond.Waiters.Count);
    }
}
