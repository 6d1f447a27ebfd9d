using Weft.Sync;
using Weft.Tests.Runtime;
using Xunit;
using static Weft.Tests.Sync.MutexParkTests;

namespace Weft.Tests.Sync;

/// <summary>
/// A goroutine's uncancellable <see cref="WaitGroup.WaitAsync"/> parks with a commit (Runtime/Park.cs), registered and
/// queued at the call but detached (Sync/Waiter.cs), committed at the step's end, and readied with plain stores by the
/// release. These pin: a post that claims the park back keeps the waiter registered in its round; a release while the
/// post runs is kept for the commit (and a new round may start once the waiter returned); and many rounds of waiters
/// and Done callers, goroutines and threads, under a post storm, each waiter released exactly once per round.
/// </summary>
public class WaitGroupParkTests
{
    [Fact]
    public async Task APostToAGoroutineParkedInWaitAsync_RunsWhileItStaysRegistered_ThenItIsReleasedOnce()
    {
        var wg = new WaitGroup();
        for (int round = 0; round < 20; round++)
        {
            wg.Add(1);
            SynchronizationContext? context = null;
            int posts = 0, released = 0, registeredDuringPost = -1;
            var g = ParkProtocolTests.RunGoroutine(async () =>
            {
                Volatile.Write(ref context, SynchronizationContext.Current);
                await wg.WaitAsync();
                released++;
            });
            WaitUntil(() => wg.QueuedWaiters is { Count: 1, HeadCommitted: true }, "the goroutine's wait is queued, committed");
            Volatile.Read(ref context)!.Post(_ =>
            {
                registeredDuringPost = wg.WaiterCountForTests();
                Interlocked.Increment(ref posts);
            }, null);
            WaitUntil(() => Volatile.Read(ref posts) == 1, "the post ran");
            WaitUntil(() => wg.QueuedWaiters is { HeadCommitted: true }, "the wait is committed again after the post");
            Assert.Equal(0, Volatile.Read(ref released));
            wg.Done();
            await g.Within();
            Assert.Equal(1, registeredDuringPost); // claimed back where it stands: still a waiter of this round
            Assert.Equal(1, released);
            Assert.Equal(0, wg.WaiterCountForTests());
        }
    }

    [Fact]
    public async Task AReleaseWhileThePostRuns_IsKeptForTheCommit_AndTheNextRoundStartsCleanly()
    {
        var wg = new WaitGroup();
        for (int round = 0; round < 20; round++)
        {
            wg.Add(1);
            SynchronizationContext? context = null;
            int released = 0;
            var g = ParkProtocolTests.RunGoroutine(async () =>
            {
                Volatile.Write(ref context, SynchronizationContext.Current);
                await wg.WaitAsync();
                released++;
            });
            WaitUntil(() => wg.QueuedWaiters is { Count: 1, HeadCommitted: true }, "the goroutine's wait is queued, committed");
            Volatile.Read(ref context)!.Post(_ => wg.Done(), null); // the release reaches the detached waiter
            await g.Within();
            Assert.Equal(1, released);
            Assert.Equal(0, wg.Count);
            Assert.Equal(0, wg.WaiterCountForTests());
        }
        wg.Add(1); // no waiter of an earlier round is left registered: a new round is not a reuse violation
        wg.Done();
    }

    [Fact]
    public async Task RoundsOfWaitersAndDoneCallers_GoroutinesAndThreads_UnderAPostStorm_EachWaiterIsReleasedOncePerRound()
    {
        const int waiters = 4, doers = 4;
        int rounds = Stress.Scale(100);
        var wg = new WaitGroup();
        var roundStart = new Chan<int>[waiters];
        for (int i = 0; i < waiters; i++) roundStart[i] = new Chan<int>(1);
        var returned = new Chan<(int Waiter, int Round, int CountSeen)>(waiters);
        int releasedTotal = 0, earlyReleases = 0;
        long donesBefore = 0;

        var storm = UnderPostStorm(waiters, async i =>
        {
            for (int r = 0; r < rounds; r++)
            {
                int round = await roundStart[i].ReceiveAsync();
                await wg.WaitAsync();
                int count = wg.Count;
                Interlocked.Increment(ref releasedTotal);
                await returned.SendAsync((i, round, count));
            }
        });
        for (int r = 0; r < rounds; r++)
        {
            wg.Add(doers);
            long target = (long)(r + 1) * doers;
            for (int i = 0; i < waiters; i++) await roundStart[i].SendAsync(r).Within();
            for (int d = 0; d < doers; d++)
            {
                if (d % 2 == 0) Go.Run(() => { Interlocked.Increment(ref donesBefore); wg.Done(); });
                else _ = Task.Run(() => { Interlocked.Increment(ref donesBefore); wg.Done(); });
            }
            var seen = new bool[waiters];
            for (int i = 0; i < waiters; i++)
            {
                var (waiter, round, count) = await returned.ReceiveAsync().Within();
                Assert.Equal(r, round);
                Assert.False(seen[waiter], $"Waiter {waiter} was released twice in round {r}.");
                seen[waiter] = true;
                if (Interlocked.Read(ref donesBefore) < target || count != 0) Interlocked.Increment(ref earlyReleases);
            }
        }
        await storm;
        Assert.Equal(waiters * rounds, releasedTotal);
        Assert.Equal(0, earlyReleases);
        Assert.Equal(0, wg.Count);
        Assert.Equal(0, wg.WaiterCountForTests());
    }
}
