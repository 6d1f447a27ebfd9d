using System.Reflection;
using Weft.Runtime;
using Weft.Testing;
using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// Every operation that completes a parked counterpart resumes it, every cancellation of a parked operation resumes
/// it, and no path leaves the channel's lock held. Each check is bounded by <see cref="Parked.Prompt"/>: a lost
/// wake-up fails the test by assertion within seconds rather than hanging (a mutation that only hangs is not killed).
/// </summary>
public sealed class ChanWakeUpTests
{
    private static bool LockHeld<T>(Chan<T> ch) =>
        ((WordLock)typeof(Chan<T>).GetField("_lock", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(ch)!).IsHeld;

    public static TheoryData<string> ReceiveForms() =>
        ["ReceiveAsync", "ReceiveOkAsync", "Receive", "Receive(out ok)", "TryReceive", "TryReceive(out ok)", "Select.Wait", "Select.WaitAsync"];

    [Theory]
    [MemberData(nameof(ReceiveForms))]
    public async Task A_receive_that_takes_a_parked_senders_value_resumes_the_sender(string form)
    {
        var ch = new Chan<int>();
        var sender = GoTask.Run(() => ch.SendAsync(7).AsTask());
        Parked.Sender(ch);
        int v;
        switch (form)
        {
            case "ReceiveAsync": v = await ch.ReceiveAsync(); break;
            case "ReceiveOkAsync": v = (await ch.ReceiveOkAsync()).Value; break;
            case "Receive": v = ch.Receive(); break;
            case "Receive(out ok)": v = ch.Receive(out _); break;
            case "TryReceive": Assert.True(ch.TryReceive(out v)); break;
            case "TryReceive(out ok)": Assert.True(ch.TryReceive(out v, out _)); break;
            default:
                var sel = new Select();
                var r = sel.Receive(ch);
                Assert.Equal(r.Index, form == "Select.Wait" ? sel.Wait() : await sel.WaitAsync());
                v = r.Value;
                break;
        }
        Assert.Equal(7, v);
        await sender.Within(Parked.Prompt);
        Assert.False(LockHeld(ch));
    }

    public static TheoryData<string> SendForms() => ["SendAsync", "Send", "TrySend", "Select.Wait", "Select.WaitAsync"];

    [Theory]
    [MemberData(nameof(SendForms))]
    public async Task A_send_to_a_parked_receiver_resumes_it_with_the_value(string form)
    {
        var ch = new Chan<int>();
        var receiver = GoTask.Run(() => ch.ReceiveAsync().AsTask());
        Parked.Receiver(ch);
        switch (form)
        {
            case "SendAsync": await ch.SendAsync(9); break; // from plain async code: the locked path, not a deferred wait
            case "Send": ch.Send(9); break;
            case "TrySend": Assert.True(ch.TrySend(9)); break;
            default:
                var sel = new Select();
                var s = sel.Send(ch, 9);
                Assert.Equal(s.Index, form == "Select.Wait" ? sel.Wait() : await sel.WaitAsync());
                break;
        }
        Assert.Equal(9, await receiver.Within(Parked.Prompt));
        Assert.False(LockHeld(ch));
    }

    [Fact]
    public async Task Cancelling_a_parked_goroutine_send_or_receive_resumes_it_and_moves_nothing()
    {
        // From a goroutine a wait with no token is deferred; one with a token must take the cancellable path.
        var ch = new Chan<int>();
        using var cts = new CancellationTokenSource();
        var send = GoTask.Run(() => ch.SendAsync(1, cts.Token).AsTask());
        Parked.Sender(ch);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.Within(Parked.Prompt));
        Assert.False(ch.TryReceive(out _));

        using var cts2 = new CancellationTokenSource();
        var receive = GoTask.Run(() => ch.ReceiveAsync(cts2.Token).AsTask());
        Parked.Receiver(ch);
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.Within(Parked.Prompt));
        Assert.False(ch.TrySend(2));

        using var cts3 = new CancellationTokenSource();
        var receiveOk = GoTask.Run(() => ch.ReceiveOkAsync(cts3.Token).AsTask());
        Parked.Receiver(ch);
        cts3.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiveOk.Within(Parked.Prompt));
        Assert.False(ch.TrySend(3));
        Assert.False(LockHeld(ch));
    }

    [Fact]
    public async Task An_operation_parked_by_plain_async_code_wakes_the_readiness_waits()
    {
        // SendAsync, ReceiveAsync and ReceiveOkAsync called outside a goroutine park on the locked path: a parked
        // sender makes a read possible, a parked receiver a write.
        var ch = new Chan<int>();
        var readWait = ch.AsChannelReader().WaitToReadAsync().AsTask();
        var send = ch.SendAsync(4).AsTask();
        Assert.True(await readWait.Within(Parked.Prompt));
        Assert.Equal(4, ch.Receive());
        await send.Within(Parked.Prompt);

        var writeWait = ch.AsChannelWriter().WaitToWriteAsync().AsTask();
        var receive = ch.ReceiveAsync().AsTask();
        Assert.True(await writeWait.Within(Parked.Prompt));
        ch.Send(5);
        Assert.Equal(5, await receive.Within(Parked.Prompt));

        writeWait = ch.AsChannelWriter().WaitToWriteAsync().AsTask();
        var receiveOk = ch.ReceiveOkAsync().AsTask();
        Assert.True(await writeWait.Within(Parked.Prompt));
        ch.Send(6);
        Assert.Equal((6, true), await receiveOk.Within(Parked.Prompt));
    }

    [Fact]
    public async Task Close_resumes_parked_waiters_and_readiness_waits_together()
    {
        var ch = new Chan<int>();
        var receivers = Enumerable.Range(0, 3).Select(_ => ch.ReceiveOkAsync().AsTask()).ToArray();
        var readWait = ch.AsChannelReader().WaitToReadAsync().AsTask();
        var completion = ch.AsChannelReader().Completion;
        ch.Close();
        foreach (var r in receivers) Assert.Equal((0, false), await r.Within(Parked.Prompt));
        Assert.False(await readWait.Within(Parked.Prompt));
        await completion.Within(Parked.Prompt);

        var full = new Chan<int>(1);
        full.TrySend(1);
        var senders = Enumerable.Range(0, 3).Select(i => full.SendAsync(i).AsTask()).ToArray();
        var writeWait = full.AsChannelWriter().WaitToWriteAsync().AsTask();
        full.Close();
        foreach (var s in senders) await Assert.ThrowsAsync<ChannelClosedException>(() => s.Within(Parked.Prompt));
        Assert.False(await writeWait.Within(Parked.Prompt));
        Assert.Equal((1, true), await full.ReceiveOkAsync().Within(Parked.Prompt));
    }

    [Fact]
    public void Closing_twice_throws_and_leaves_the_channel_usable()
    {
        var ch = new Chan<int>(1);
        ch.TrySend(1);
        ch.Close();
        Assert.Throws<ChannelClosedException>(ch.Close);
        Assert.False(LockHeld(ch));
        Assert.True(ch.TryReceive(out int v));
        Assert.Equal(1, v);
        Assert.Equal(0, ch.Receive(out bool ok));
        Assert.False(ok);
    }

    [Fact]
    public void A_timer_channel_refuses_sends_and_close()
    {
        var timer = ChanTimer.NewChannel(out _);
        Assert.Throws<InvalidOperationException>(() => { _ = timer.SendAsync(DateTime.UtcNow); });
        Assert.Throws<InvalidOperationException>(() => timer.Send(DateTime.UtcNow));
        Assert.Throws<InvalidOperationException>(() => timer.TrySend(DateTime.UtcNow));
        Assert.Throws<InvalidOperationException>(timer.Close);
        Assert.False(timer.IsClosed);
        Assert.False(LockHeld(timer));
        Assert.Throws<InvalidOperationException>(() => new Select().Send(timer, DateTime.UtcNow));
    }

    [Fact]
    public async Task A_blocking_form_refused_in_a_bubble_leaves_the_lock_free()
    {
        await Bubble.Run(() =>
        {
            var ch = new Chan<int>();
            Assert.Throws<InvalidOperationException>(() => ch.Receive());
            Assert.False(LockHeld(ch));
            Assert.Throws<InvalidOperationException>(() => ch.Send(1));
            Assert.False(LockHeld(ch));
            var sel = new Select();
            sel.Receive(ch);
            Assert.Throws<InvalidOperationException>(() => sel.Wait());
            Assert.False(LockHeld(ch));
            Assert.False(ch.TrySend(2)); // nothing was left queued
            // The refused wait left the select free. AsTask queues the wait at once (a goroutine's await would
            // queue it when its step ends: Runtime/Park.cs), so the send below meets it.
            var wait = sel.WaitAsync().AsTask();
            Assert.True(ch.TrySend(3));
            return wait;
        }, seed: 2).Within();
    }

    [Fact]
    public void A_received_value_is_not_kept_alive_by_the_buffer()
    {
        var ch = new Chan<object>(4);
        var weak = Fill(ch);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.TryGetTarget(out _), "the ring still references a value that was received");
        GC.KeepAlive(ch);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static WeakReference<object> Fill(Chan<object> ch)
        {
            var o = new object();
            ch.TrySend(o);
            Assert.True(ch.TryReceive(out var back));
            Assert.Same(o, back);
            return new WeakReference<object>(o);
        }
    }
}
