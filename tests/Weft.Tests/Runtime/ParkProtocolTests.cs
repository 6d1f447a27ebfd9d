using Weft.Tests.Channels;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// Continuation's owned protocol: an awaitable made inside a goroutine parks that goroutine through its mailbox lock.
/// These pin the paths off the fast one — a second park in the same step, an awaitable awaited somewhere else, a
/// foreign continuation arriving while the goroutine is parked — by checking that every value arrives exactly once.
/// </summary>
public class ParkProtocolTests
{
    internal static Task RunGoroutine(Func<Task> body)
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

    // ---- Deferred channel waits (Chan.Defer.cs): a goroutine's blocked send or receive enters the channel when
    // ---- its step ends, and the completer of such a committed park wakes it without the goroutine's lock.

    [Fact]
    public async Task AReceiveStartedButNotAwaitedInItsStep_IsWaitingInTheChannelOnceTheStepEnds()
    {
        // Go's view: the receive started, so a sender can meet it. The wait is deferred while the step runs and must
        // be in the channel once the step parks on something else.
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var ch = new Chan<int>();
            var gate = new Chan<int>();
            int got = -1;
            Go.Run(async () =>
            {
                var pending = ch.ReceiveAsync();
                await gate.ReceiveAsync();
                got = await pending;
            });
            await bubble.WaitIdleAsync();
            Assert.True(ch.TrySend(7), "the receive must be waiting in the channel once its goroutine's step ended");
            await gate.SendAsync(0);
            await bubble.WaitIdleAsync();
            Assert.Equal(7, got);
        }, seeds: 10).Within();
    }

    [Fact]
    public async Task ASendStartedButNotAwaitedInItsStep_IsWaitingInTheChannelOnceTheStepEnds()
    {
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var ch = new Chan<int>();
            var gate = new Chan<int>();
            bool sent = false;
            Go.Run(async () =>
            {
                var pending = ch.SendAsync(11);
                await gate.ReceiveAsync();
                await pending;
                sent = true;
            });
            await bubble.WaitIdleAsync();
            Assert.True(ch.TryReceive(out int v), "the send must be waiting in the channel once its goroutine's step ended");
            Assert.Equal(11, v);
            await gate.SendAsync(0);
            await bubble.WaitIdleAsync();
            Assert.True(sent);
        }, seeds: 10).Within();
    }

    [Fact]
    public async Task AParkedReceive_IsMetByANonBlockingSend()
    {
        // The committed park itself: once the goroutine's step ended on the receive, TrySend finds the receiver.
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var ch = new Chan<int>();
            int got = -1;
            Go.Run(async () => got = await ch.ReceiveAsync());
            await bubble.WaitIdleAsync();
            Assert.True(ch.TrySend(5));
            await bubble.WaitIdleAsync();
            Assert.Equal(5, got);
        }, seeds: 10).Within();
    }

    [Fact]
    public async Task AReceiveAwaitedThroughATaskThatTheGoroutineBlocksOn_IsMetByAPlainThreadsSend()
    {
        // Sync over async inside a goroutine: the step never ends while it blocks, so the receive must be in the
        // channel as soon as something other than the step's own park waits on it (here AsTask).
        var ch = new Chan<int>();
        using var started = new ManualResetEventSlim();
        var blocked = GoTask.Run(() =>
        {
            var receive = ch.ReceiveAsync().AsTask();
            started.Set();
            return Task.FromResult(receive.Result);
        });
        var sender = new Thread(() =>
        {
            started.Wait();
            ch.Send(4); // the receive started first, so this meets it (and would hang if it were not in the channel)
        }) { IsBackground = true };
        sender.Start();
        Assert.Equal(4, await blocked.Within());
        Assert.True(sender.Join(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AReceivePolledAcrossYields_CompletesWithTheValueSent()
    {
        var ch = new Chan<int>();
        var polled = GoTask.Run(async () =>
        {
            var pending = ch.ReceiveAsync();
            while (!pending.IsCompleted) await Go.Yield();
            return pending.Result;
        });
        await ch.SendAsync(9).AsTask().Within();
        Assert.Equal(9, await polled.Within());
    }

    [Fact]
    public async Task APostFromAnotherGoroutineToOneParkedOnAChannel_RunsOnceAndTheReceiveStillCompletes_UnderEverySeed()
    {
        // The poster finds the goroutine parked on a committed channel wait and claims it back out of the channel;
        // the step the post causes commits the wait again. Under every order the post runs once, before the value is
        // sent, and the value still arrives.
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var ch = new Chan<int>();
            SynchronizationContext? target = null;
            int posts = 0, got = -1;
            Go.Run(async () =>
            {
                target = SynchronizationContext.Current;
                got = await ch.ReceiveAsync();
            });
            Go.Run(async () =>
            {
                while (target is null) await Go.Yield();
                target.Post(_ => posts++, null);
                while (posts == 0) await Go.Yield(); // the post must run while the receiver stays parked
                await ch.SendAsync(3);
            });
            await bubble.WaitIdleAsync();
            Assert.Equal(1, posts);
            Assert.Equal(3, got);
        }, seeds: 50).Within();
    }

    [Fact]
    public async Task PostsFromAPlainThreadWhileGoroutinesPingPong_EachRunsOnceAndEveryValueArrivesInOrder()
    {
        // A thread keeps posting into goroutines that park on channels at every hop, so posts land in every phase of
        // a park: before it is published, while it is committed, after a completer dequeued it.
        int rounds = Stress.Scale(20_000);
        const int pairs = 4;
        var contexts = new SynchronizationContext?[2 * pairs];
        var players = new List<Task>();
        for (int p = 0; p < pairs; p++)
        {
            var ping = new Chan<int>();
            var pong = new Chan<int>();
            int slot = 2 * p;
            players.Add(GoTask.Run(async () =>
            {
                Volatile.Write(ref contexts[slot], SynchronizationContext.Current);
                for (int i = 0; i < rounds; i++)
                {
                    await ping.SendAsync(i);
                    Assert.Equal(-i, await pong.ReceiveAsync());
                }
            }));
            players.Add(GoTask.Run(async () =>
            {
                Volatile.Write(ref contexts[slot + 1], SynchronizationContext.Current);
                for (int i = 0; i < rounds; i++)
                {
                    Assert.Equal(i, await ping.ReceiveAsync());
                    await pong.SendAsync(-i);
                }
            }));
        }
        await PostWhilePlayingAsync(contexts, Task.WhenAll(players));
    }

    /// <summary>
    /// A plain thread posts into every goroutine in <paramref name="contexts"/> (as they fill in) until
    /// <paramref name="players"/> completes; then every post must have run exactly once.
    /// </summary>
    internal static async Task PostWhilePlayingAsync(SynchronizationContext?[] contexts, Task players)
    {
        var counts = new PostCounts();
        var poster = new Thread(() =>
        {
            while (!players.IsCompleted)
            {
                for (int k = 0; k < contexts.Length; k++)
                {
                    if (Volatile.Read(ref contexts[k]) is not { } c) continue;
                    Interlocked.Increment(ref counts.Posted);
                    c.Post(static o => Interlocked.Increment(ref ((PostCounts)o!).Ran), counts);
                }
                Thread.Yield();
            }
        }) { IsBackground = true };
        poster.Start();
        await players.Within();
        Assert.True(poster.Join(TimeSpan.FromSeconds(10)), "the poster thread stops once the players are done");
        // Posts to a goroutine whose body returned still run (its mailbox outlives the body).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref counts.Ran) != Volatile.Read(ref counts.Posted) && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.True(counts.Posted > 0, "the poster posted while the goroutines ran");
        Assert.Equal(Volatile.Read(ref counts.Posted), Volatile.Read(ref counts.Ran));
    }

    [Fact]
    public Task APostThatRacesTheParkOnAChannel_IsNeverLeftBehindIt() =>
        PostsRacingParksAsync(Stress.Scale(20_000), ch => () => ch.ReceiveAsync());

    /// <summary>
    /// A thread completes the goroutine's inner task the moment it exists, so its continuation is posted while the
    /// goroutine is on its way to parking (through <paramref name="parkOn"/>, made once inside the goroutine) for a
    /// value that is sent only after that continuation ran. A post the park missed would leave the goroutine parked
    /// with the post stuck behind it: a hang, caught when no round completes for <see cref="TestTimeout.Default"/>
    /// (a bound on progress, not on the whole run, so that WEFT_STRESS's longer runs on a loaded machine pass).
    /// </summary>
    internal static async Task PostsRacingParksAsync(int rounds, Func<Chan<int>, Func<ValueTask<int>>> parkOn)
    {
        var ch = new Chan<int>();
        var innerDone = new Chan<int>(1);
        TaskCompletionSource? slot = null;
        bool stop = false;
        int done = 0;
        var completer = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                if (Interlocked.Exchange(ref slot, null) is { } t) t.SetResult();
                else Thread.SpinWait(20);
            }
        }) { IsBackground = true };
        completer.Start();
        var body = GoTask.Run(async () =>
        {
            var receive = parkOn(ch);
            for (int i = 0; i < rounds; i++)
            {
                var tcs = new TaskCompletionSource();
                var inner = Inner(tcs.Task, i);
                Volatile.Write(ref slot, tcs);
                Assert.Equal(i, await receive());
                await inner;
            }

            async Task Inner(Task gate, int i)
            {
                await gate; // resumes through a post to this goroutine
                await innerDone.SendAsync(i);
            }
        });
        var driver = Task.Run(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                Assert.Equal(i, await innerDone.ReceiveAsync());
                await ch.SendAsync(i);
                Volatile.Write(ref done, i + 1);
            }
        });
        try
        {
            var all = Task.WhenAll(body, driver);
            int seen = -1;
            while (!all.IsCompleted)
            {
                int now = Volatile.Read(ref done);
                if (now == seen) await all.Within(); // no round for a whole bound: a hang, reported with the dump
                seen = now;
                await Task.WhenAny(all, Task.Delay(TestTimeout.Default));
            }
            await all;
        }
        finally
        {
            Volatile.Write(ref stop, true);
        }
    }

    [Fact]
    public async Task DeferredSendsThatAlternateChannels_EachValueGoesToTheChannelItWasSentOn()
    {
        // The goroutine's spare node keeps the channel of its last wait; a deferred wait on another channel must
        // move it. Two slow receivers (each yields before receiving) make most sends park, alternating a and b.
        int rounds = Stress.Scale(20_000);
        var a = new Chan<int>();
        var b = new Chan<int>();
        var sender = RunGoroutine(async () =>
        {
            for (int i = 0; i < rounds; i++) await ((i & 1) == 0 ? a : b).SendAsync(i);
        });
        async Task Receive(Chan<int> ch, int first)
        {
            for (int expect = first; expect < rounds; expect += 2)
            {
                await Go.Yield();
                Assert.Equal(expect, await ch.ReceiveAsync());
            }
        }
        await Task.WhenAll(sender, RunGoroutine(() => Receive(a, 0)), RunGoroutine(() => Receive(b, 1))).Within();
    }

    private sealed class PostCounts
    {
        public long Posted, Ran;
    }
}
