using System.Runtime.CompilerServices;
using Weft.Sync;
using Weft.Testing;
using Weft.Tests.Runtime;
using Xunit;
using static Weft.Tests.Sync.MutexParkTests;

namespace Weft.Tests.Sync;

/// <summary>
/// A goroutine's uncancellable <see cref="RWMutex.RLockAsync"/> or <see cref="RWMutex.LockAsync"/> parks with a commit
/// (Runtime/Park.cs), queued at the call but detached (Sync/Waiter.cs): the call queues the node where it always did,
/// the step's end commits it, and the hand-over that takes a committed node readies the goroutine with plain stores.
/// These pin the paths off the plain one: a post that claims the committed park back where it stands, a hand-over that
/// reaches the node while it is detached, writer preference from the call on, and readers, writers and threads mixed
/// under a post storm.
/// </summary>
public class RWMutexParkTests
{
    [Fact]
    public async Task APostToAGoroutineParkedInRLockAsync_RunsWhileItWaitsInPlace_ThenTheReadLockIsTakenOnce()
    {
        var rw = new RWMutex();
        for (int round = 0; round < 20; round++)
        {
            var (g, context, acquired) = ParkAReaderBehindThisThreadsWrite(rw); // this thread writes until the post has run
            int posts = 0;
            bool writerHeldDuringPost = false, queuedDetachedDuringPost = false;
            context.Post(_ =>
            {
                writerHeldDuringPost = (rw.State & RWMutex.Writer) != 0;
                // Claimed back where it stands: still queued behind the writer, no longer committed.
                queuedDetachedDuringPost = rw.Waiters is { Readers: 1, ReaderCommitted: false };
                Interlocked.Increment(ref posts);
            }, null);
            WaitUntil(() => Volatile.Read(ref posts) == 1, "the post ran");
            WaitUntil(() => rw.Waiters is { Readers: 1, ReaderCommitted: true }, "the read is committed again after the post");
            Assert.Equal(0, Volatile.Read(ref acquired.Value));
            rw.Unlock();
            await g.Within();
            Assert.True(writerHeldDuringPost);
            Assert.True(queuedDetachedDuringPost, "A claimed-back read keeps its place in the queue.");
            Assert.Equal(1, posts);
            Assert.Equal(1, acquired.Value);
            Assert.Equal(0, rw.State);
            Assert.False(rw.IsQueueLockHeld);
        }
    }

    [Fact]
    public async Task AnUnlockThatReachesADetachedRead_IsKeptForItsCommit_AndTheReadLockIsTakenOnce()
    {
        // The post runs in the goroutine's step with its read claimed back (detached): the writer's Unlock, made right
        // there, admits it, and the commit that ends the step finds the grant instead of parking.
        var rw = new RWMutex();
        for (int round = 0; round < 20; round++)
        {
            var (g, context, acquired) = ParkAReaderBehindThisThreadsWrite(rw);
            int readersAfterUnlock = -1;
            context.Post(_ =>
            {
                rw.Unlock();
                readersAfterUnlock = rw.State & RWMutex.ReaderMask;
            }, null);
            await g.Within();
            Assert.Equal(1, readersAfterUnlock); // the hand-over counted the detached read in
            Assert.Equal(1, acquired.Value);
            Assert.Equal(0, rw.State);
        }
    }

    /// <summary>
    /// Takes the write lock on this thread, then starts a goroutine whose RLockAsync parks behind it, committed; returns
    /// the goroutine, its context, and how many times it acquired (it releases at once).
    /// </summary>
    private static (Task Goroutine, SynchronizationContext Context, StrongBox<int> Acquired) ParkAReaderBehindThisThreadsWrite(RWMutex rw)
    {
        TestTimeout.Blocking(() => rw.Lock());
        SynchronizationContext? context = null;
        var acquired = new StrongBox<int>();
        var g = ParkProtocolTests.RunGoroutine(async () =>
        {
            Volatile.Write(ref context, SynchronizationContext.Current);
            await rw.RLockAsync();
            acquired.Value++;
            rw.RUnlock();
        });
        WaitUntil(() => rw.Waiters is { Readers: 1, ReaderCommitted: true }, "the goroutine's read is queued, committed");
        return (g, Volatile.Read(ref context)!, acquired);
    }

    [Fact]
    public async Task AGoroutinesLockAsync_HoldsNewReadersBackFromItsCall_AndAPostLeavesItDraining()
    {
        var rw = new RWMutex();
        TestTimeout.Blocking(() => rw.RLock()); // a reader the writer must drain
        SynchronizationContext? context = null;
        int posts = 0, acquired = 0;
        bool readerRefusedAtCall = false, readerRefusedDuringPost = false, drainingDuringPost = false;
        var g = ParkProtocolTests.RunGoroutine(async () =>
        {
            Volatile.Write(ref context, SynchronizationContext.Current);
            var wait = rw.LockAsync();
            readerRefusedAtCall = !rw.TryRLock(); // before the step ends: writer preference holds from the call
            await wait;
            acquired++;
            rw.Unlock();
        });
        WaitUntil(() => rw.Waiters is { Draining: true, DrainingCommitted: true }, "the writer drains, committed");
        Volatile.Read(ref context)!.Post(_ =>
        {
            readerRefusedDuringPost = !rw.TryRLock();
            drainingDuringPost = rw.Waiters is { Draining: true, DrainingCommitted: false };
            Interlocked.Increment(ref posts);
        }, null);
        WaitUntil(() => Volatile.Read(ref posts) == 1, "the post ran");
        WaitUntil(() => rw.Waiters is { DrainingCommitted: true }, "the writer is committed again after the post");
        Assert.Equal(0, Volatile.Read(ref acquired));
        rw.RUnlock(); // the last reader out lets the writer in
        await g.Within();
        Assert.True(readerRefusedAtCall);
        Assert.True(readerRefusedDuringPost);
        Assert.True(drainingDuringPost, "A claimed-back writer keeps draining: the readers it holds back stay held back.");
        Assert.Equal(1, acquired);
        Assert.Equal(0, rw.State);
    }

    [Theory]
    [InlineData("rw")]
    [InlineData("wg")]
    public async Task ParkedReadsAndWaitGroupWaits_AllocateNothingInSteadyState(string which)
    {
        // In a bubble everything runs on the bubble's one thread, so that thread's allocation counter sees the parks,
        // the commits and the wake-ups of RWMutex and WaitGroup waits (each parked: the helper sleeps first). Cond is
        // left out: a round of Cond.WaitAsync measured 64 bytes in Release (144 in Debug), as before
        // issue 14's change, not yet traced (docs/performance.md, "Issue 14: sleep and sync park with a commit").
        long allocated = -1;
        await Bubble.Run(async () =>
        {
            var rw = new RWMutex();
            var wg = new WaitGroup();
            var go = new Chan<int>();
            var nap = TimeSpan.FromMilliseconds(1);
            const int rounds = 6_000;
            Go.Run(async () =>
            {
                for (int i = 0; i < rounds; i++)
                {
                    await go.ReceiveAsync();
                    await Go.Sleep(nap);
                    if (which == "rw") rw.Unlock();
                    if (which == "wg") wg.Done();
                }
            });
            long before = 0;
            for (int i = 0; i < rounds; i++)
            {
                if (i == 1000) before = GC.GetAllocatedBytesForCurrentThread(); // after a warm-up
                if (which == "rw") Assert.True(rw.TryLock());
                if (which == "wg") wg.Add(1);
                await go.SendAsync(i);
                if (which == "rw")
                {
                    await rw.RLockAsync(); // parks until the helper's Unlock
                    rw.RUnlock();
                }
                if (which == "wg") await wg.WaitAsync(); // parks until the helper's Done
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }).Within();
        Assert.True(allocated < 10_000, $"{allocated} bytes for 5,000 rounds");
    }

    [Fact]
    public async Task ReadersAndWritersInGoroutinesAndThreads_UnderAPostStorm_ExcludeEachOtherAndNothingIsLost()
    {
        const int goroutines = 6;
        int iterations = Stress.Scale(1_000);
        var rw = new RWMutex();
        int readersIn = 0, writersIn = 0, violations = 0;
        long writes = 0, reads = 0;

        void Read()
        {
            Interlocked.Increment(ref readersIn);
            if (Volatile.Read(ref writersIn) != 0) Interlocked.Increment(ref violations);
            Interlocked.Increment(ref reads);
            Interlocked.Decrement(ref readersIn);
        }

        void Write()
        {
            if (Interlocked.Increment(ref writersIn) != 1 || Volatile.Read(ref readersIn) != 0) Interlocked.Increment(ref violations);
            writes++; // unsynchronised on purpose: a lost update means two writers overlapped
            Interlocked.Decrement(ref writersIn);
        }

        using var stop = new CancellationTokenSource();
        var threads = Enumerable.Range(0, 2).Select(t => Task.Factory.StartNew(() =>
        {
            int n = 0;
            while (!stop.IsCancellationRequested)
            {
                if (n++ % 4 == 0) { rw.Lock(); Write(); rw.Unlock(); }
                else { rw.RLock(); Read(); rw.RUnlock(); }
            }
            return n;
        }, TaskCreationOptions.LongRunning)).ToArray();
        await UnderPostStorm(goroutines, async i =>
        {
            for (int j = 0; j < iterations; j++)
            {
                if (i % 3 == 0) { await rw.LockAsync(); Write(); rw.Unlock(); }
                else { await rw.RLockAsync(); Read(); rw.RUnlock(); }
            }
        });
        stop.Cancel();
        int threadOps = (await Task.WhenAll(threads).Within()).Sum();
        Assert.Equal(0, violations);
        Assert.Equal(goroutines * (long)iterations + threadOps, writes + reads);
        Assert.Equal(0, rw.State);
        Assert.False(rw.IsQueueLockHeld);
    }
}
