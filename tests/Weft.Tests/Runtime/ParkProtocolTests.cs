using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// Continuation's owned protocol: an awaitable made inside a goroutine parks that goroutine through its mailbox lock.
/// These pin the paths off the fast one — a second park in the same step, an awaitable awaited somewhere else, a
/// foreign continuation arriving while the goroutine is parked — by checking that every value arrives exactly once.
/// </summary>
public class ParkProtocolTests
{
    private static Task RunGoroutine(Func<Task> body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try { await body(); done.SetResult(); }
            catch (Exception e) { done.SetException(e); }
        });
        return done.Task;
    }

    private static async Task<int> ReceiveInInnerTask(Chan<int> ch) => await ch.ReceiveAsync();

    /// <summary>
    /// Each round parks twice in one step: an inner task's receive on <paramref name="a"/> takes the goroutine's park,
    /// then the body's receive on <paramref name="b"/> finds it taken. Round i expects i on a and -i on b.
    /// </summary>
    private static async Task ParkTwicePerStep(Chan<int> a, Chan<int> b, int rounds, Action roundDone)
    {
        for (int i = 0; i < rounds; i++)
        {
            var inner = ReceiveInInnerTask(a);
            int y = await b.ReceiveAsync();
            int x = await inner;
            Assert.Equal(i, x);
            Assert.Equal(-i, y);
            roundDone();
        }
    }

    [Fact]
    public async Task AnInnerTaskAndTheBodyParkInTheSameStep_BothValuesArriveInEitherOrder()
    {
        // The inner task's await registers the goroutine's park; the body's await in the same step finds it taken
        // and waits through the mailbox instead. The feeder completes them in both orders.
        int rounds = Stress.Scale(20_000);
        var a = new Chan<int>();
        var b = new Chan<int>();
        var feeder = RunGoroutine(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                if ((i & 1) == 0) { await a.SendAsync(i); await b.SendAsync(-i); }
                else { await b.SendAsync(-i); await a.SendAsync(i); }
            }
        });
        var consumer = RunGoroutine(() => ParkTwicePerStep(a, b, rounds, () => { }));
        await Task.WhenAll(feeder, consumer).Within();
    }

    [Fact]
    public async Task BothParksOfOneStep_WokenInEitherOrder_UnderEverySeed()
    {
        // Deterministic version of the test above: in a bubble, WaitIdleAsync returns only once the consumer has
        // registered both waits of its step, so every round really exercises the second-park path.
        const int rounds = 20;
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var a = new Chan<int>();
            var b = new Chan<int>();
            int completed = 0;
            Go.Run(() => ParkTwicePerStep(a, b, rounds, () => completed++));
            for (int i = 0; i < rounds; i++)
            {
                await bubble.WaitIdleAsync();
                if ((i & 1) == 0) { await a.SendAsync(i); await b.SendAsync(-i); }
                else { await b.SendAsync(-i); await a.SendAsync(i); }
            }
            await bubble.WaitIdleAsync();
            Assert.Equal(rounds, completed);
        }, seeds: 20).Within();
    }

    [Fact]
    public async Task AValueTaskMadeInOneGoroutineIsAwaitedInAnotherAndInPlainAsyncCode()
    {
        int rounds = Stress.Scale(5_000);
        var data = new Chan<int>();
        var handoff = new Chan<ValueTask<int>>(1);
        var fromPlainCode = new Chan<ValueTask<int>>(1);
        var maker = RunGoroutine(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                // Made here (this goroutine owns the wait), awaited elsewhere.
                await handoff.SendAsync(data.ReceiveAsync());
                await fromPlainCode.SendAsync(data.ReceiveAsync());
            }
        });
        var received = new List<int>();
        var awaiter = RunGoroutine(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                var vt = await handoff.ReceiveAsync();
                int v = await vt;
                lock (received) received.Add(v);
            }
        });
        var plain = Task.Run(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                var vt = await fromPlainCode.ReceiveAsync();
                int v = await vt;
                lock (received) received.Add(v);
            }
        });
        var sender = RunGoroutine(async () =>
        {
            for (int i = 0; i < 2 * rounds; i++) await data.SendAsync(i);
        });
        await Task.WhenAll(maker, awaiter, plain, sender).Within();
        received.Sort();
        Assert.Equal(Enumerable.Range(0, 2 * rounds), received);
    }

    [Fact]
    public async Task ConfigureAwaitFalseOnAnOwnedReceiveResumesOffTheGoroutineAndLosesNothing()
    {
        int n = Stress.Scale(10_000);
        var ch = new Chan<int>();
        var seen = new int[n];
        var all = new Task[n];
        for (int i = 0; i < n; i++)
        {
            all[i] = RunGoroutine(async () =>
            {
                int v = await ch.ReceiveAsync().ConfigureAwait(false);
                Interlocked.Increment(ref seen[v]);
            });
        }
        var sender = RunGoroutine(async () =>
        {
            for (int i = 0; i < n; i++) await ch.SendAsync(i);
        });
        await Task.WhenAll(all.Append(sender)).Within();
        Assert.All(seen, c => Assert.Equal(1, c));
    }

    [Fact]
    public async Task AForeignContinuationRunsWhileTheGoroutineIsParkedOnAChannel()
    {
        // The goroutine forks work whose continuation is posted to it (Task.Delay) and parks on a channel. The
        // posted continuation must run while it stays parked there, and the channel's wake must still find it.
        int rounds = Stress.Scale(200);
        var ch = new Chan<int>();
        var innerDone = new Chan<int>(1);
        var body = RunGoroutine(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                var inner = Inner(i);
                int v = await ch.ReceiveAsync();
                Assert.Equal(i, v);
                await inner;
            }

            async Task Inner(int i)
            {
                await Task.Delay(1);
                Assert.IsType<Weft.Runtime.Goroutine>(SynchronizationContext.Current);
                await innerDone.SendAsync(i);
            }
        });
        for (int i = 0; i < rounds; i++)
        {
            // Only once the inner continuation ran on the parked goroutine does the channel get its value.
            Assert.Equal(i, await innerDone.ReceiveAsync().AsTask().Within());
            await ch.SendAsync(i).AsTask().Within();
        }
        await body.Within();
    }
}
