using System.Reflection;
using Weft.Testing;
using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// The edges of Select.Wait.cs's locked pass that the rule tests (SelectTests) do not reach.
/// A select's timeout cases leave no timer armed once the wait is over, whichever pass decided it. The locked pass
/// (Select.Wait.cs, LockAndEnqueue) starts every timeout's timer before it locks the sources (BeforeBlock); when a
/// source became ready in the meantime the wait ends there, and AfterBlock must stop those timers just as Finish does
/// after a parked wait. A timer left armed fires later into a select that is no longer waiting: a heap entry and a
/// wake-up per wait, and a stale timeout value for a reused select's next wait.
/// </summary>
public sealed class SelectWaitTests
{
    private static Timer TimerOf(ReceiveCase<DateTime> timeout) =>
        (Timer)typeof(ReceiveCase<DateTime>).GetField("_timeout", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(timeout)!;

    [Fact]
    public void A_timeout_case_that_loses_is_never_left_armed_whichever_pass_decided()
    {
        // The sender sends once per round after a random delay, so over the rounds the value lands before the
        // lock-free pass (pass 1 takes it), after the select parked (Finish), and between the two, while the select
        // starts its timers (the locked pass takes it). Each round then checks that every timer of the select is
        // disarmed: Stop() is true only for a timer that was still armed or held an undelivered value.
        const int Rounds = 300;
        var ch = new Chan<int>(1);
        var sel = new Select();
        var timeouts = new ReceiveCase<DateTime>[8];
        for (int i = 0; i < timeouts.Length; i++) timeouts[i] = sel.Timeout(TimeSpan.FromHours(1));
        var recv = sel.Receive(ch);
        int turn = -1;
        using var stop = new CancellationTokenSource();
        var sender = new Thread(() =>
        {
            var rng = new Random(13);
            for (int r = 0; r < Rounds; r++)
            {
                while (Volatile.Read(ref turn) < r)
                {
                    if (stop.IsCancellationRequested) return;
                    Thread.SpinWait(1);
                }
                Thread.SpinWait(rng.Next(0, 400));
                if (!ch.TrySend(r)) return; // the select did not take the last value: the main loop fails on it
            }
        }) { IsBackground = true };
        sender.Start();
        try
        {
            for (int r = 0; r < Rounds; r++)
            {
                using var bound = new CancellationTokenSource(TestTimeout.Default);
                Volatile.Write(ref turn, r);
                Assert.Equal(recv.Index, sel.Wait(bound.Token));
                Assert.Equal(r, recv.Value);
                for (int i = 0; i < timeouts.Length; i++)
                    Assert.False(TimerOf(timeouts[i]).Stop(), $"round {r}: timeout case {i} was left armed after the receive won");
            }
        }
        finally
        {
            stop.Cancel();
        }
        Assert.True(sender.Join(TestTimeout.Default));
    }

    [Fact]
    public async Task A_blocking_wait_in_a_bubble_is_refused_and_leaves_the_select_free_for_the_next_wait()
    {
        // The blocking Wait finds nothing ready in a bubble: it must throw before it parks the bubble's only thread,
        // and release the select on the way out, so the next wait (here the async form) is not refused as a second
        // waiter.
        await Bubble.Run(async () =>
        {
            var ch = new Chan<int>(1);
            var sel = new Select();
            var recv = sel.Receive(ch);
            var ex = Assert.Throws<InvalidOperationException>(() => sel.Wait());
            Assert.Contains("bubble", ex.Message);
            Assert.True(ch.TrySend(7));
            Assert.Equal(recv.Index, await sel.WaitAsync());
            Assert.Equal(7, recv.Value);
        }, seed: 13).Within();
    }

    [Fact]
    public async Task A_deferred_wait_anchors_on_the_source_that_comes_first_in_the_lock_order()
    {
        // A poster's claim of a goroutine parked on a select locks the anchor only (TryUncommit), so the anchor must be
        // the source the commit locks first: then the claim is ordered before or after the whole commit. Cases are
        // added out of id order, after a disabled one, so that neither the first nor the last case is the answer.
        var chans = new[] { new Chan<int>(), new Chan<int>(), new Chan<int>() };
        var sel = new Select();
        sel.Receive<int>(null);
        var cases = new[] { sel.Receive(chans[1]), sel.Receive(chans[0]), sel.Receive(chans[2]) };
        var first = cases.MinBy(c => c.SelectId)!;
        Assert.NotSame(cases[0], first);
        Assert.NotSame(cases[^1], first);
        object? anchor = null;
        bool waiting = false;
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            var wait = sel.WaitAsync(); // nothing is ready: the goroutine parks with a commit at the end of its step
            anchor = typeof(Select).GetField("_anchor", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(sel);
            Volatile.Write(ref waiting, true);
            done.SetResult(await wait);
        });
        Parked.Until(() => Volatile.Read(ref waiting), "the goroutine's select waits");
        await chans[2].SendAsync(5).Within();
        Assert.Equal(cases[2].Index, await done.Task.Within());
        Assert.Equal(5, cases[2].Value);
        Assert.Same(first, anchor);
    }

    [Fact]
    public async Task A_goroutine_alternating_a_parked_select_with_a_parked_receive_allocates_nothing_in_steady_state()
    {
        // A parking select holds its goroutine's spare channel node for the wait and gives it back when the wait ends,
        // so the receive after it parks on that same node: nothing cycles through the pool, and no node is lost. In a
        // bubble both goroutines run on the bubble's one thread, whose allocation counter then sees every park, wake-up
        // and hand-off of the loop and nothing else.
        long allocated = -1;
        await Bubble.Run(async () =>
        {
            var a = new Chan<int>();
            var b = new Chan<int>();
            var sel = new Select();
            var fromA = sel.Receive(a);
            sel.Receive(new Chan<int>()); // a second case, so the select is a real choice
            const int Rounds = 11_000;
            Go.Run(async () =>
            {
                // The sleeps let the receiver reach its next wait first, so that both of its waits park.
                for (int i = 0; i < Rounds; i++)
                {
                    await a.SendAsync(i);
                    await Go.Sleep(TimeSpan.FromMilliseconds(1));
                    await b.SendAsync(i);
                    await Go.Sleep(TimeSpan.FromMilliseconds(1));
                }
            });
            long before = 0;
            int wrong = 0;
            for (int i = 0; i < Rounds; i++)
            {
                if (i == 1000) before = GC.GetAllocatedBytesForCurrentThread(); // after a warm-up
                if (await sel.WaitAsync() != fromA.Index || fromA.Value != i) wrong++;
                if (await b.ReceiveAsync() != i) wrong++;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(0, wrong);
        }, seed: 7).Within();
        Assert.True(allocated < 10_000, $"{allocated} bytes for 10,000 rounds");
    }
}
