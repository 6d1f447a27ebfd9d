using Weft.Tests.Runtime;
using Xunit;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Tests.Sync;

/// <summary>
/// A goroutine's uncancellable <see cref="Semaphore.AcquireAsync"/> parks with a commit (Runtime/Park.cs). These pin
/// the claim-back of a committed park by a post, and that the FIFO's head leaving that way still lets the waiters
/// behind it be granted.
/// </summary>
public class SemaphoreParkTests
{
    [Fact]
    public async Task APostToTheHeadWaiter_LetsTheSmallerWaiterBehindItBeGrantedWhileTheTokensAreStillOut()
    {
        // Capacity 2, one token out. The head asks for 2 (does not fit), the waiter behind it for 1 (fits, but FIFO
        // keeps it behind). A post claims the head's park back; the commit its step ends with must grant the waiter
        // behind before it queues the head again, or that waiter would wait for a Release that may never come.
        var sem = new Semaphore(2);
        TestTimeout.Blocking(() => sem.Acquire(1));
        SynchronizationContext? headContext = null;
        int posts = 0, smallGranted = 0, bigGranted = 0;
        var big = ParkProtocolTests.RunGoroutine(async () =>
        {
            Volatile.Write(ref headContext, SynchronizationContext.Current);
            await sem.AcquireAsync(2);
            Interlocked.Increment(ref bigGranted);
            sem.Release(2);
        });
        MutexParkTests.WaitUntil(() => sem.Waiters.Count == 1, "the big request is queued");
        Assert.True(sem.Waiters.HeadCommitted, "A goroutine's uncancellable AcquireAsync parks with a commit.");
        var small = ParkProtocolTests.RunGoroutine(async () =>
        {
            await sem.AcquireAsync(1);
            Interlocked.Increment(ref smallGranted);
            sem.Release(1);
        });
        MutexParkTests.WaitUntil(() => sem.Waiters.Count == 2, "the small request is queued behind it");
        Assert.Equal(0, Volatile.Read(ref smallGranted));
        Volatile.Read(ref headContext)!.Post(_ => Interlocked.Increment(ref posts), null);
        await small.Within(); // granted with this thread's token still out: only the re-commit could grant it
        Assert.Equal(1, Volatile.Read(ref posts));
        Assert.Equal(0, Volatile.Read(ref bigGranted));
        sem.Release(1);
        await big.Within();
        Assert.Equal(1, bigGranted);
        Assert.Equal(2, sem.Available);
        Assert.Equal(0, sem.Waiters.Count);
    }

    [Fact]
    public async Task GoroutinesAcquiringWeightsWhileAPlainThreadPostsToThem_NeverExceedTheCapacity()
    {
        const int goroutines = 6, capacity = 3;
        int iterations = Stress.Scale(10_000);
        var sem = new Semaphore(capacity);
        long inUse = 0, maxInUse = 0, grants = 0;
        await MutexParkTests.UnderPostStorm(goroutines, async me =>
        {
            for (int j = 0; j < iterations; j++)
            {
                long n = 1 + (me + j) % capacity;
                await sem.AcquireAsync(n);
                long now = Interlocked.Add(ref inUse, n);
                long seen;
                while (now > (seen = Volatile.Read(ref maxInUse)) && Interlocked.CompareExchange(ref maxInUse, now, seen) != seen) { }
                Interlocked.Increment(ref grants);
                Interlocked.Add(ref inUse, -n);
                sem.Release(n);
            }
        });
        Assert.Equal(goroutines * (long)iterations, grants);
        Assert.True(maxInUse <= capacity, $"At most {capacity} tokens are out at once; saw {maxInUse}.");
        Assert.Equal(capacity, sem.Available);
        Assert.Equal(0, sem.Waiters.Count);
    }
}
