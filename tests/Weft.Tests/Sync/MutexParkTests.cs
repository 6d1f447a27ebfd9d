using Weft.Sync;
using Weft.Tests.Runtime;
using Xunit;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Tests.Sync;

/// <summary>
/// A goroutine's uncancellable <see cref="Mutex.LockAsync"/> parks with a commit (Runtime/Park.cs): the step ends, then
/// the wait is queued under the mutex's queue lock, and the Unlock that dequeues it readies the goroutine with plain
/// stores. These pin the paths off the plain one: a post that claims the committed park back, a post racing the
/// commit, and a wait that its step does not park on (committed loose).
/// </summary>
public class MutexParkTests
{
    /// <summary>Spins (yielding) until <paramref name="condition"/> holds; fails after the test timeout instead of hanging.</summary>
    internal static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeout.Default;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            Thread.Yield();
        }
    }

    [Fact]
    public async Task APostToAGoroutineParkedInLockAsync_RunsWhileItWaits_ThenTheLockIsTakenOnce()
    {
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock()); // this thread holds the mutex until the post has run
        for (int round = 0; round < 20; round++)
        {
            SynchronizationContext? context = null;
            int posts = 0, acquired = 0;
            bool heldDuringPost = false;
            var g = ParkProtocolTests.RunGoroutine(async () =>
            {
                Volatile.Write(ref context, SynchronizationContext.Current);
                await mu.LockAsync();
                acquired++;
                mu.Unlock();
            });
            // The commit set HasWaiters under the queue lock as the step's last act: the goroutine is parked, committed.
            WaitUntil(() => (mu.State & Mutex.HasWaiters) != 0, "the goroutine's wait is queued");
            Assert.True(mu.Waiters.HeadCommitted, "A goroutine's uncancellable LockAsync parks with a commit.");
            Volatile.Read(ref context)!.Post(_ =>
            {
                heldDuringPost = mu.IsLocked;
                Interlocked.Increment(ref posts);
            }, null);
            WaitUntil(() => Volatile.Read(ref posts) == 1, "the post ran");
            // The post claimed the park back and its step committed the wait again.
            WaitUntil(() => (mu.State & Mutex.HasWaiters) != 0, "the wait is queued again after the post");
            Assert.Equal(0, Volatile.Read(ref acquired));
            mu.Unlock();
            await g.Within();
            Assert.True(heldDuringPost);
            Assert.Equal(1, posts);
            Assert.Equal(1, acquired);
            Assert.Equal(0, mu.State); // nothing queued, nobody woken, unlocked: the claim-back left no stale bit
            TestTimeout.Blocking(() => mu.Lock());
        }
        mu.Unlock();
    }

    /// <summary>
    /// Runs <paramref name="goroutines"/> goroutines, goroutine i running <paramref name="body"/>(i), while a plain thread
    /// posts to them without pause; returns once all are done and every post ran exactly once. The posts race the
    /// commits and the wakes: some find the goroutine running (its step runs them), some find it parked on a committed
    /// wait and claim it back, some lose that claim to a waker that dequeued it first.
    /// </summary>
    internal static async Task UnderPostStorm(int goroutines, Func<int, Task> body)
    {
        var contexts = new SynchronizationContext?[goroutines];
        var posted = new int[goroutines];
        var ran = new int[goroutines];
        var workers = new Task[goroutines];
        for (int i = 0; i < goroutines; i++)
        {
            int me = i;
            workers[i] = ParkProtocolTests.RunGoroutine(() =>
            {
                Volatile.Write(ref contexts[me], SynchronizationContext.Current);
                return body(me);
            });
        }
        using var stop = new CancellationTokenSource();
        var poster = Task.Run(() =>
        {
            int k = 0;
            while (!stop.IsCancellationRequested)
            {
                int i = k++ % goroutines;
                if (Volatile.Read(ref contexts[i]) is not { } ctx) continue;
                posted[i]++;
                ctx.Post(o => Interlocked.Increment(ref ran[(int)o!]), i);
                if (k % 64 == 0) Thread.Yield();
            }
        });
        await Task.WhenAll(workers).Within();
        stop.Cancel();
        await poster.Within();
        // A post to a finished goroutine still runs (its mailbox outlives its body); give the last ones time to land.
        for (int i = 0; i < goroutines; i++)
        {
            int g = i;
            WaitUntil(() => Volatile.Read(ref ran[g]) == posted[g], $"every post to goroutine {g} ran");
        }
    }

    [Fact]
    public async Task GoroutinesContendingWhileAPlainThreadPostsToThem_ExcludeEachOtherAndEveryPostRunsOnce()
    {
        const int goroutines = 6;
        int iterations = Stress.Scale(20_000);
        var mu = new Mutex();
        long count = 0;
        int inside = 0, overlaps = 0;
        await UnderPostStorm(goroutines, async _ =>
        {
            for (int j = 0; j < iterations; j++)
            {
                await mu.LockAsync();
                if (Interlocked.Exchange(ref inside, 1) != 0) Interlocked.Increment(ref overlaps);
                count++;
                Volatile.Write(ref inside, 0);
                mu.Unlock();
            }
        });
        Assert.Equal(0, overlaps);
        Assert.Equal(goroutines * (long)iterations, count);
        Assert.Equal(0, mu.State);
    }

    [Fact]
    public async Task ALockAsyncWhoseStepParksOnSomethingElse_IsQueuedAnywayAndGetsTheMutex()
    {
        // An inner task's receive takes the step's park first (it is the step's deferred wait), so the mutex wait is
        // not what the step parks on: it is queued at once and woken like any waiter. The receive is ended by a close
        // after the lock, so it cannot complete before it is awaited, whatever the machine's load. (Before issue 14
        // the inner wait was a cancellable Go.Sleep, which took the park through the owned protocol, now gone: only a
        // step's deferred wait is its park.)
        var mu = new Mutex();
        TestTimeout.Blocking(() => mu.Lock());
        var gate = new Chan<int>();
        int acquired = 0;
        var g = ParkProtocolTests.RunGoroutine(async () =>
        {
            var sleeper = Nap(gate);
            await mu.LockAsync();
            acquired++;
            mu.Unlock();
            gate.Close();
            await sleeper;

            static async Task Nap(Chan<int> gate) => await gate.ReceiveAsync();
        });
        WaitUntil(() => (mu.State & Mutex.HasWaiters) != 0, "the goroutine's wait is queued");
        Assert.False(mu.Waiters.HeadCommitted);
        mu.Unlock();
        await g.Within();
        Assert.Equal(1, acquired);
        Assert.Equal(0, mu.State);
    }
}
