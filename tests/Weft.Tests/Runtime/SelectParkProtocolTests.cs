using Weft.Tests.Channels;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// A goroutine's select that blocks parks with a commit at the end of its step (Runtime/Park.cs), like a plain
/// receive: these pin the paths a post, a second wait in the same step, and a counterparty on another thread take
/// through it, by checking that every value and every post arrives exactly once.
/// </summary>
public class SelectParkProtocolTests
{
    [Fact]
    public async Task APostToAGoroutineParkedInASelect_RunsOnceAndTheSelectStillCompletes_UnderEverySeed()
    {
        // The poster finds the goroutine parked on a committed select and takes the park back; the step the post
        // causes commits the select again (removing the nodes the claim left queued). Under every order the post
        // runs once, before the value is sent, and the value arrives through the right case.
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var a = new Chan<int>();
            var b = new Chan<int>();
            SynchronizationContext? target = null;
            int posts = 0, got = -1, index = -1;
            Go.Run(async () =>
            {
                target = SynchronizationContext.Current;
                var sel = new Select();
                sel.Receive(a);
                var fromB = sel.Receive(b);
                index = await sel.WaitAsync();
                got = fromB.Value;
            });
            Go.Run(async () =>
            {
                while (target is null) await Go.Yield();
                target.Post(_ => posts++, null);
                while (posts == 0) await Go.Yield(); // the post must run while the select stays parked
                await b.SendAsync(3);
            });
            await bubble.WaitIdleAsync();
            Assert.Equal(1, posts);
            Assert.Equal(1, index);
            Assert.Equal(3, got);
            Assert.False(a.TrySend(1), "no node of the finished select is left in a channel");
            Assert.False(b.TrySend(1), "no node of the finished select is left in a channel");
        }, seeds: 50).Within();
    }

    [Fact]
    public async Task APostToAGoroutineParkedInASelectOfSends_RunsOnce_AndOnlyTheChosenSendIsEverReceived()
    {
        // The send-case form of the test above: the commit after the post must take the send nodes the claim left
        // queued out of their channels before it queues them again. A node left behind would be a second offer of
        // its value: a receiver could then take a value from a send case that lost, or the queue would hold one node
        // twice. Under every order the post runs once, exactly one value is received, and nothing is left to take.
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var a = new Chan<int>();
            var b = new Chan<int>();
            SynchronizationContext? target = null;
            int posts = 0, got = -1, index = -1;
            Go.Run(async () =>
            {
                target = SynchronizationContext.Current;
                var sel = new Select();
                sel.Send(a, 1);
                sel.Send(b, 2);
                index = await sel.WaitAsync();
            });
            Go.Run(async () =>
            {
                while (target is null) await Go.Yield();
                target.Post(_ => posts++, null);
                while (posts == 0) await Go.Yield(); // the post must run while the select stays parked
                got = await b.ReceiveAsync();
            });
            await bubble.WaitIdleAsync();
            Assert.Equal(1, posts);
            Assert.Equal(1, index);
            Assert.Equal(2, got);
            Assert.False(a.TryReceive(out int stale), $"the losing send case's value {stale} is still offered");
            Assert.False(b.TryReceive(out stale), $"the winning send case's value {stale} is offered again");
        }, seeds: 50).Within();
    }

    [Fact]
    public async Task ASelectStartedButNotAwaitedInItsStep_IsWaitingInItsChannelsOnceTheStepEnds()
    {
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var ch = new Chan<int>();
            var gate = new Chan<int>();
            int got = -1;
            Go.Run(async () =>
            {
                var sel = new Select();
                var c = sel.Receive(ch);
                sel.Receive(new Chan<int>());
                var pending = sel.WaitAsync();
                await gate.ReceiveAsync();
                Assert.Equal(c.Index, await pending);
                got = c.Value;
            });
            await bubble.WaitIdleAsync();
            Assert.True(ch.TrySend(7), "the select must be waiting in the channel once its goroutine's step ended");
            await gate.SendAsync(0);
            await bubble.WaitIdleAsync();
            Assert.Equal(7, got);
        }, seeds: 10).Within();
    }

    [Fact]
    public async Task ASelectAwaitedThroughATaskThatTheGoroutineBlocksOn_IsMetByAPlainThreadsSend()
    {
        // Sync over async inside a goroutine: the step never ends while it blocks, so the select must be in its
        // channels as soon as something other than the step's own park waits on it (here AsTask).
        var ch = new Chan<int>();
        using var started = new ManualResetEventSlim();
        var blocked = GoTask.Run(() =>
        {
            var sel = new Select();
            var c = sel.Receive(ch);
            sel.Receive(new Chan<int>());
            var wait = sel.WaitAsync().AsTask();
            started.Set();
            Assert.Equal(c.Index, wait.Result);
            Assert.Equal(4, c.Value);
            return Task.CompletedTask;
        });
        var sender = new Thread(() =>
        {
            started.Wait();
            ch.Send(4); // the select started first, so this meets it (and would hang if it were not in the channel)
        }) { IsBackground = true };
        sender.Start();
        await blocked.Within();
        Assert.True(sender.Join(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task PostsFromAPlainThreadWhileGoroutinesPingPongThroughSelects_EachRunsOnceAndEveryValueArrivesInOrder()
    {
        // A thread keeps posting into goroutines that park in a select at every hop, so posts land in every phase of
        // a park: before it is committed, while it is, after a completer claimed it.
        int rounds = Stress.Scale(10_000);
        const int pairs = 3;
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
                var sel = new Select();
                var back = sel.Receive(pong);
                sel.Receive(new Chan<int>());
                for (int i = 0; i < rounds; i++)
                {
                    await ping.SendAsync(i);
                    Assert.Equal(back.Index, await sel.WaitAsync());
                    Assert.Equal(-i, back.Value);
                }
            }));
            players.Add(GoTask.Run(async () =>
            {
                Volatile.Write(ref contexts[slot + 1], SynchronizationContext.Current);
                var sel = new Select();
                var get = sel.Receive(ping);
                sel.Receive(new Chan<int>());
                for (int i = 0; i < rounds; i++)
                {
                    Assert.Equal(get.Index, await sel.WaitAsync());
                    Assert.Equal(i, get.Value);
                    await pong.SendAsync(-i);
                }
            }));
        }
        await ParkProtocolTests.PostWhilePlayingAsync(contexts, Task.WhenAll(players));
    }

    [Fact]
    public Task APostThatRacesTheParkInASelect_IsNeverLeftBehindIt() =>
        ParkProtocolTests.PostsRacingParksAsync(Stress.Scale(10_000), ch =>
        {
            var sel = new Select();
            var c = sel.Receive(ch);
            sel.Receive(new Chan<int>());
            return async () =>
            {
                Assert.Equal(c.Index, await sel.WaitAsync());
                return c.Value;
            };
        });

    [Fact]
    public async Task ASelectThatCompletesDuringItsCommit_ReportsTheCaseAndTheValue_AndASendOnAClosedChannelThrows()
    {
        await Weft.Testing.Bubble.Explore(async bubble =>
        {
            var ch = new Chan<int>(1);
            var closed = new Chan<int>();
            int got = -1;
            Exception? thrown = null;
            Go.Run(async () =>
            {
                var sel = new Select();
                var c = sel.Receive(ch);
                sel.Receive(new Chan<int>());
                var pending = sel.WaitAsync(); // nothing ready: deferred
                Assert.True(ch.TrySend(4));     // ready before the step ends: the commit completes it
                Assert.Equal(c.Index, await pending);
                got = c.Value;

                var sendSel = new Select();
                sendSel.Send(closed, 1);
                sendSel.Receive(new Chan<int>());
                var send = sendSel.WaitAsync();
                closed.Close();
                try { await send; }
                catch (ChannelClosedException e) { thrown = e; }
            });
            await bubble.WaitIdleAsync();
            Assert.Equal(4, got);
            Assert.IsType<ChannelClosedException>(thrown);
        }, seeds: 10).Within();
    }

    [Fact]
    public async Task ProducersIntoBufferedChannels_AndOneSelectConsumer_EveryValueArrivesOnceInOrderPerChannel()
    {
        // The benchmark's shape: producers fill small buffers and park on them, one consumer selects over all of them
        // and parks whenever every buffer is empty, so parks and wakes alternate on both sides at every rate.
        const int k = 4;
        int per = Stress.Scale(50_000);
        var chans = Enumerable.Range(0, k).Select(_ => new Chan<int>(16)).ToArray();
        var producers = chans.Select(ch => GoTask.Run(async () =>
        {
            for (int i = 0; i < per; i++) await ch.SendAsync(i);
        })).ToArray();
        var next = new int[k];
        var consumer = GoTask.Run(async () =>
        {
            var sel = new Select();
            var cases = chans.Select(ch => sel.Receive(ch)).ToArray();
            for (int n = 0; n < k * per; n++)
            {
                int i = await sel.WaitAsync();
                Assert.Equal(next[i]++, cases[i].Value);
            }
        });
        await consumer.Within(); // first: a consumer that failed leaves the producers parked
        await Task.WhenAll(producers).Within();
        Assert.All(next, v => Assert.Equal(per, v));
    }

    [Fact]
    public async Task ACasesChannelOrToken_CannotChangeWhileItsSelectWaits_AndCanAfterwards()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        var recv = sel.Receive(ch);
        var send = sel.Send(new Chan<int>(), 1);
        var stop = sel.Cancellation(CancellationToken.None);
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = GoTask.Run(async () =>
        {
            var wait = sel.WaitAsync();
            waiting.SetResult();
            Assert.Equal(recv.Index, await wait);
        });
        await waiting.Task.Within();
        Assert.Throws<InvalidOperationException>(() => recv.Channel = new Chan<int>());
        Assert.Throws<InvalidOperationException>(() => send.Channel = null);
        Assert.Throws<InvalidOperationException>(() => stop.Token = new CancellationTokenSource().Token);
        await ch.SendAsync(1).AsTask().Within();
        await done.Within();
        recv.Channel = null; // between waits: Go's nil-channel idiom
        send.Channel = null;
        stop.Token = default;
        Assert.Null(recv.Channel);
    }
}
