using Weft.Testing;
using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// The blocking (thread) forms Send, Receive and Select.Wait: they park the thread on its own reusable event, so
/// they allocate nothing in steady state, honour cancellation exactly, and work from goroutines too.
/// </summary>
public sealed class BlockingFormTests
{
    private static Thread Start(Action body)
    {
        var t = new Thread(() => body()) { IsBackground = true };
        t.Start();
        return t;
    }

    [Fact]
    public async Task Blocking_ping_pong_between_threads_allocates_nothing_in_steady_state()
    {
        var ping = new Chan<int>();
        var pong = new Chan<int>();
        long echoAllocated = -1;
        var echo = Start(() =>
        {
            for (int i = 0; i < 1000; i++) pong.Send(ping.Receive());
            // Warm-up that surely sleeps: a ManualResetEventSlim creates its monitor lock the first time a wait
            // outlasts its spin, a one-time allocation that must not land in the measured loop.
            for (int i = 0; i < 3; i++) { Thread.Sleep(5); pong.Send(ping.Receive()); }
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5000; i++) pong.Send(ping.Receive());
            echoAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Start(() =>
        {
            for (int i = 0; i < 1000; i++) { ping.Send(i); Assert.Equal(i, pong.Receive()); }
            for (int i = 0; i < 3; i++) { ping.Send(i); Thread.Sleep(5); Assert.Equal(i, pong.Receive()); }
            long before = GC.GetAllocatedBytesForCurrentThread();
            int sum = 0;
            for (int i = 0; i < 5000; i++) { ping.Send(i); sum += pong.Receive(); }
            done.SetResult(GC.GetAllocatedBytesForCurrentThread() - before);
        });
        // Nothing per operation (5,000 round trips); under heavy load a one-time allocation (a lock inflated the first
        // time a wait outlasted its spin, which the warm-up does not always provoke) may land in the loop.
        long pingAllocated = await done.Task.Within();
        echo.Join();
        Assert.True(pingAllocated < 256, $"{pingAllocated} bytes allocated by 5,000 round trips (pinging thread)");
        Assert.True(echoAllocated < 256, $"{echoAllocated} bytes allocated by 5,000 round trips (echoing thread)");
    }

    [Fact]
    public async Task A_cancelled_blocking_receive_consumes_nothing_and_a_cancelled_blocking_send_delivers_nothing()
    {
        var ch = new Chan<int>();
        using var cts = new CancellationTokenSource();
        var receiver = Task.Factory.StartNew(() => ch.Receive(cts.Token), TaskCreationOptions.LongRunning);
        await Task.Delay(20);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiver.Within());
        Assert.False(ch.TrySend(1)); // the receiver left the queue

        using var cts2 = new CancellationTokenSource();
        var sender = Task.Factory.StartNew(() => ch.Send(7, cts2.Token), TaskCreationOptions.LongRunning);
        await Task.Delay(20);
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sender.Within());
        Assert.False(ch.TryReceive(out _)); // the sender left the queue: 7 was never delivered
        Assert.Throws<OperationCanceledException>(() => ch.Receive(new CancellationToken(true)));
    }

    [Fact]
    public async Task Blocking_cancellation_racing_delivery_never_loses_or_duplicates_a_value()
    {
        // Invariant: the values whose blocking Send returned are exactly the values some blocking Receive returned.
        const int N = 3000;
        var ch = new Chan<int>();
        var sent = new List<int>();
        var received = new List<int>();
        var stop = new CancellationTokenSource();
        var receiver = Task.Factory.StartNew(() =>
        {
            var rnd = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                using var cts = new CancellationTokenSource();
                if (rnd.Next(3) == 0) cts.CancelAfter(TimeSpan.FromTicks(rnd.Next(1, 2000)));
                var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, stop.Token);
                try { received.Add(ch.Receive(linked.Token)); }
                catch (OperationCanceledException) { }
                finally { linked.Dispose(); }
            }
        }, TaskCreationOptions.LongRunning);
        var sender = Task.Factory.StartNew(() =>
        {
            var rnd = new Random(2);
            for (int i = 0; i < N; i++)
            {
                using var cts = new CancellationTokenSource();
                if (rnd.Next(3) == 0) cts.CancelAfter(TimeSpan.FromTicks(rnd.Next(1, 2000)));
                try { ch.Send(i, cts.Token); sent.Add(i); }
                catch (OperationCanceledException) { }
            }
        }, TaskCreationOptions.LongRunning);
        await sender.Within();
        stop.Cancel();
        await receiver.Within();
        Assert.Equal(sent, received);
    }

    [Fact]
    public async Task A_blocking_send_wakes_with_ChannelClosedException_when_the_channel_closes()
    {
        var ch = new Chan<int>(1);
        ch.Send(1);
        var sender = Task.Factory.StartNew(() => ch.Send(2), TaskCreationOptions.LongRunning);
        await Task.Delay(20);
        ch.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => sender.Within());
        Assert.Equal(1, ch.Receive(out bool ok));
        Assert.True(ok);
        Assert.Equal(0, ch.Receive(out ok));
        Assert.False(ok);
    }

    [Fact]
    public async Task A_blocking_select_on_a_thread_is_completed_by_a_goroutine_and_can_be_cancelled()
    {
        var a = new Chan<int>();
        var b = new Chan<string>();
        var sel = new Select();
        var ra = sel.Receive(a);
        var rb = sel.Receive(b);
        var waiter = Task.Factory.StartNew(() => sel.Wait(), TaskCreationOptions.LongRunning);
        await GoTask.Run(() => b.SendAsync("hi").AsTask()).Within();
        Assert.Equal(rb.Index, await waiter.Within());
        Assert.Equal("hi", rb.Value);

        using var cts = new CancellationTokenSource();
        var cancelled = Task.Factory.StartNew(() => sel.Wait(cts.Token), TaskCreationOptions.LongRunning);
        await Task.Delay(20);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Within());
        Assert.False(a.TrySend(1)); // no node left behind
        Assert.False(b.TrySend("x"));
    }

    [Fact]
    public async Task Goroutines_may_block_in_the_thread_forms_without_starving_the_others()
    {
        // More goroutines block in the thread forms than there are processors; each hands its processor off, so
        // the goroutine that feeds them still runs.
        int n = Go.MaxProcs + 2;
        var ch = new Chan<int>();
        var back = new Chan<int>(n);
        for (int i = 0; i < n; i++) Go.Run(() => back.Send(ch.Receive() + 1));
        await GoTask.Run(async () => { for (int i = 0; i < n; i++) await ch.SendAsync(i); }).Within();
        int sum = 0;
        for (int i = 0; i < n; i++) sum += await back.ReceiveAsync().Within();
        Assert.Equal(n * (n + 1) / 2, sum);
    }

    [Fact]
    public async Task In_a_bubble_a_blocking_form_that_would_block_is_a_clear_error()
    {
        await Bubble.Run(() =>
        {
            var ch = new Chan<int>(1);
            ch.Send(1);                         // completes at once: allowed
            Assert.Equal(1, ch.Receive());
            var ex = Assert.Throws<InvalidOperationException>(() => ch.Receive());
            Assert.Contains("use the async form", ex.Message);
            Assert.Equal(0, ch.Len);
            Assert.True(ch.TrySend(2));        // the refused receive left nothing queued
            Assert.Throws<InvalidOperationException>(() => ch.Send(3));
            var sel = new Select();
            sel.Receive(new Chan<int>());
            Assert.Throws<InvalidOperationException>(() => sel.Wait());
            return Task.CompletedTask;
        }, seed: 1).Within();
    }
}
