using Weft.Sync;
using Weft.Testing;
using Xunit;
using Mutex = Weft.Sync.Mutex;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Tests.Sync;

/// <summary>
/// The sync primitives in bubbles: exact virtual times where the schedule is forced (the mutex's 1 ms starvation
/// threshold), and invariants over many seeded schedules elsewhere. Only the async forms run here: a bubble has
/// one thread, so a blocking wait would block the whole bubble.
/// </summary>
public class SyncBubbleTests
{
    private static TimeSpan Us(int microseconds) => TimeSpan.FromMicroseconds(microseconds);

    private static TimeSpan Elapsed(Bubble b) => b.Now - Bubble.Epoch;

    /// <summary>Locks in a loop, holding the mutex for <paramref name="hold"/> each time, until <paramref name="stop"/> says so.</summary>
    private static async Task Hog(Bubble b, Mutex mu, TimeSpan hold, Func<bool> stop, List<(string who, TimeSpan at)> log)
    {
        while (!stop())
        {
            await mu.LockAsync();
            log.Add(("hog", Elapsed(b)));
            await Go.Sleep(hold);
            mu.Unlock(); // the hog runs on and re-locks at once: it barges past a woken waiter in normal mode
        }
    }

    [Fact]
    public async Task Mutex_StarvationStartsOnlyAfterAWaiterWaitedOver1ms_ThenHandsItTheLock()
    {
        // The hog holds 0.4 ms at a time and re-locks at once. The waiter queues at 0.1 ms; it is woken at 0.4 and
        // 0.8 ms and loses to the hog each time (waited 0.3, 0.7 ms: normal mode); woken at 1.2 ms it has waited
        // 1.1 ms > 1 ms and switches the mutex to starvation mode, so the hog's next Unlock (1.6 ms) hands it over.
        await Bubble.Explore(async b =>
        {
            var mu = new Mutex();
            var log = new List<(string who, TimeSpan at)>();
            bool stop = false;
            var wg = new WaitGroup();
            wg.Go(() => Hog(b, mu, Us(400), () => stop, log));
            wg.Go(async () =>
            {
                await Go.Sleep(Us(100));
                await mu.LockAsync();
                log.Add(("waiter", Elapsed(b)));
                stop = true;
                mu.Unlock();
            });
            await wg.WaitAsync();
            Assert.Equal(new[] { ("hog", Us(0)), ("hog", Us(400)), ("hog", Us(800)), ("hog", Us(1200)), ("waiter", Us(1600)) },
                log.Take(5));
        }, seeds: 10).Within();
    }

    [Fact]
    public async Task Mutex_StarvationMode_HandsOverFifo_NewcomersQueue()
    {
        // The hog holds 2 ms at a time. W1, W2, W3 queue at 0.1, 0.2, 0.3 ms. At 2 ms W1 is woken and loses to the
        // hog, having waited 1.9 ms: starvation mode. From then on the mutex goes FIFO — W1 at 4 ms, W2 when W1
        // unlocks 0.5 ms later, W3 0.5 ms after that — and the hog, a newcomer at 4 ms, queues behind them.
        await Bubble.Explore(async b =>
        {
            var mu = new Mutex();
            var log = new List<(string who, TimeSpan at)>();
            int served = 0;
            var wg = new WaitGroup();
            wg.Go(() => Hog(b, mu, TimeSpan.FromMilliseconds(2), () => served == 3, log));
            for (int i = 1; i <= 3; i++)
            {
                int id = i;
                wg.Go(async () =>
                {
                    await Go.Sleep(Us(100 * id));
                    await mu.LockAsync();
                    log.Add(("W" + id, Elapsed(b)));
                    await Go.Sleep(Us(500));
                    served++;
                    mu.Unlock();
                });
            }
            await wg.WaitAsync();
            Assert.Equal(new[]
            {
                ("hog", Us(0)), ("hog", Us(2000)), ("W1", Us(4000)), ("W2", Us(4500)), ("W3", Us(5000)), ("hog", Us(5500)),
            }, log);
        }, seeds: 10).Within();
    }

    [Fact]
    public async Task Semaphore_GrantsInArrivalOrder_AndNeverExceedsCapacity_200Seeds()
    {
        // Strict FIFO: if request a arrived before request b, a was granted no later than b (virtual time stands
        // still between a Release and the resumption of the waiters it granted, so the resumption time is the
        // grant time). Weights and hold times vary with the seed; arrivals tie often, ordered by the scheduler.
        const int capacity = 5;
        await Bubble.Explore(async b =>
        {
            var sem = new Semaphore(capacity);
            var rng = new Random(b.Seed);
            var grants = new List<(int arrival, long weight, TimeSpan at)>();
            int arrivals = 0;
            long inside = 0;
            var wg = new WaitGroup();
            for (int g = 0; g < 6; g++)
            {
                wg.Go(async () =>
                {
                    for (int k = 0; k < 4; k++)
                    {
                        await Go.Sleep(Us(100 * rng.Next(0, 3)));
                        long weight = rng.Next(1, capacity + 1);
                        int arrival = arrivals++; // no await between this and the enqueue inside AcquireAsync
                        await sem.AcquireAsync(weight);
                        inside += weight;
                        Assert.InRange(inside, 1, capacity);
                        grants.Add((arrival, weight, Elapsed(b)));
                        await Go.Sleep(Us(100 * rng.Next(1, 4)));
                        inside -= weight;
                        sem.Release(weight);
                    }
                });
            }
            await wg.WaitAsync();
            Assert.Equal(24, grants.Count);
            var byArrival = grants.OrderBy(g => g.arrival).ToList();
            for (int i = 1; i < byArrival.Count; i++)
                Assert.True(byArrival[i - 1].at <= byArrival[i].at,
                    $"Request {byArrival[i].arrival} (weight {byArrival[i].weight}) was granted at {byArrival[i].at} before the earlier request {byArrival[i - 1].arrival} (weight {byArrival[i - 1].weight}) at {byArrival[i - 1].at}.");
            Assert.Equal(capacity, sem.Available);
        }, seeds: 200).Within();
    }

    [Fact]
    public async Task RWMutex_WriterIsNotStarvedByOverlappingReaders_ManySeeds()
    {
        // Readers overlap so that, without writer preference, some reader would always hold the lock. A writer that
        // calls Lock blocks new readers, so it waits at most for the readers already in: the longest read hold.
        var maxHold = Us(500);
        await Bubble.Explore(async b =>
        {
            var rw = new RWMutex();
            var rng = new Random(b.Seed);
            bool writerDone = false;
            int readers = 0, writes = 0;
            var wg = new WaitGroup();
            for (int r = 0; r < 4; r++)
            {
                wg.Go(async () =>
                {
                    while (!writerDone)
                    {
                        await rw.RLockAsync();
                        readers++;
                        await Go.Sleep(Us(100 * rng.Next(1, 6)));
                        readers--;
                        rw.RUnlock();
                        await Go.Sleep(Us(50 * rng.Next(0, 2)));
                    }
                });
            }
            wg.Go(async () =>
            {
                for (int k = 0; k < 5; k++)
                {
                    await Go.Sleep(Us(100 * rng.Next(1, 10)));
                    var called = Elapsed(b);
                    await rw.LockAsync();
                    Assert.Equal(0, readers);
                    Assert.InRange(Elapsed(b) - called, TimeSpan.Zero, maxHold);
                    writes++;
                    await Go.Sleep(Us(100));
                    rw.Unlock();
                }
                writerDone = true;
            });
            await wg.WaitAsync();
            Assert.Equal(5, writes);
            Assert.True(rw.TryLock());
        }, seeds: 100).Within();
    }

    private sealed class Boom(int id) : Exception($"boom {id}")
    {
        public int Id { get; } = id;
    }

    [Fact]
    public async Task ErrGroup_LimitIsNeverExceeded_FirstErrorWins_ManySeeds()
    {
        const int limit = 3;
        await Bubble.Explore(async b =>
        {
            var g = new ErrGroup();
            g.SetLimit(limit);
            var rng = new Random(b.Seed);
            int running = 0, max = 0, ran = 0;
            var thrown = new List<int>();
            for (int i = 0; i < 20; i++)
            {
                int id = i;
                Func<Task> f = async () =>
                {
                    running++;
                    ran++;
                    max = Math.Max(max, running);
                    Assert.InRange(running, 1, limit);
                    await Go.Sleep(Us(100 * rng.Next(0, 4)));
                    running--;
                    if (id % 7 == 3)
                    {
                        thrown.Add(id);
                        throw new Boom(id);
                    }
                };
                if (i % 4 == 0 && g.TryGo(f)) continue;
                await g.GoAsync(f);
            }
            var err = await Assert.ThrowsAsync<Boom>(() => g.WaitAsync().AsTask());
            Assert.Equal(thrown[0], err.Id); // one goroutine runs at a time, so the first to throw is the first caught
            Assert.True(g.Token.IsCancellationRequested);
            Assert.Equal(20, ran);
            Assert.Equal(limit, max);
        }, seeds: 100).Within();
    }

    [Fact]
    public async Task Cond_NoLostWakeUps_ProducersAndConsumers_ManySeeds()
    {
        // A lost wake-up leaves a consumer parked with items queued: the bubble then deadlocks and the seed fails.
        await Bubble.Explore(async b =>
        {
            var mu = new Mutex();
            var cond = new Cond(mu);
            var queue = new Queue<int>();
            var rng = new Random(b.Seed);
            bool closed = false;
            int consumed = 0;
            var producers = new WaitGroup();
            var consumers = new WaitGroup();
            for (int c = 0; c < 3; c++)
            {
                consumers.Go(async () =>
                {
                    while (true)
                    {
                        await mu.LockAsync();
                        while (queue.Count == 0 && !closed) await cond.WaitAsync();
                        if (queue.Count == 0)
                        {
                            mu.Unlock();
                            return;
                        }
                        queue.Dequeue();
                        consumed++;
                        mu.Unlock();
                        if (rng.Next(2) == 0) await Go.Yield();
                    }
                });
            }
            for (int p = 0; p < 2; p++)
            {
                producers.Go(async () =>
                {
                    for (int i = 0; i < 15; i++)
                    {
                        await mu.LockAsync();
                        queue.Enqueue(i);
                        bool inside = rng.Next(2) == 0;
                        if (inside) cond.Signal(); // signalling with or without the lock held are both allowed
                        mu.Unlock();
                        if (!inside) cond.Signal();
                        if (rng.Next(3) == 0) await Go.Sleep(Us(10));
                    }
                });
            }
            await producers.WaitAsync();
            await mu.LockAsync();
            closed = true;
            cond.Broadcast();
            mu.Unlock();
            await consumers.WaitAsync();
            Assert.Equal(30, consumed);
        }, seeds: 200).Within();
    }
}
