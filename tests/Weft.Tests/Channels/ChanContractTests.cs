using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// The channel contract (STYLE 13): every rule that holds for every flavour, run against each of them.
/// Later IPC transports derive from this class too.
/// </summary>
public abstract class ChanContractTests
{
    protected abstract Chan<int> Make();

    [Fact]
    public async Task Values_sent_by_a_goroutine_are_received_in_order()
    {
        var ch = Make();
        var producer = GoTask.Run(async () =>
        {
            for (int i = 0; i < 1000; i++) await ch.SendAsync(i);
            ch.Close();
        });
        var got = await GoTask.Run(async () =>
        {
            var list = new List<int>();
            await foreach (var v in ch) list.Add(v);
            return list;
        }).Within();
        await producer.Within();
        Assert.Equal(Enumerable.Range(0, 1000), got);
    }

    [Fact]
    public async Task Receive_on_closed_and_drained_channel_returns_default_and_not_ok()
    {
        var ch = Make();
        ch.Close();
        var (v, ok) = await ch.ReceiveOkAsync().Within();
        Assert.Equal(0, v);
        Assert.False(ok);
        Assert.Equal(0, await ch.ReceiveAsync().Within());
        Assert.True(ch.TryReceive(out _, out bool ok2));
        Assert.False(ok2);
        Assert.False(ch.TryReceive(out _));
        Assert.Equal(0, ch.Receive(out bool ok3));
        Assert.False(ok3);
    }

    [Fact]
    public async Task Close_wakes_every_parked_receiver_with_not_ok()
    {
        var ch = Make();
        var receivers = Enumerable.Range(0, 8).Select(_ => ch.ReceiveOkAsync().AsTask()).ToArray();
        Assert.All(receivers, r => Assert.False(r.IsCompleted));
        ch.Close();
        foreach (var r in receivers) Assert.False((await r.Within()).Ok);
    }

    [Fact]
    public async Task Close_wakes_parked_senders_with_ChannelClosedException()
    {
        var ch = Make();
        while (ch.TrySend(1)) { } // fill the buffer, if any
        var sender = ch.SendAsync(2).AsTask();
        Assert.False(sender.IsCompleted);
        ch.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => sender.Within());
    }

    [Fact]
    public async Task Send_on_closed_channel_throws()
    {
        var ch = Make();
        ch.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => ch.SendAsync(1).AsTask());
        Assert.Throws<ChannelClosedException>(() => ch.TrySend(1));
        Assert.Throws<ChannelClosedException>(() => ch.Send(1));
    }

    [Fact]
    public void Closing_twice_throws()
    {
        var ch = Make();
        ch.Close();
        Assert.Throws<ChannelClosedException>(ch.Close);
    }

    [Fact]
    public async Task Blocked_senders_are_served_in_FIFO_order()
    {
        var ch = Make();
        int prefill = 0;
        while (ch.TrySend(-1)) prefill++;
        // From one thread, each SendAsync parks before the next starts: the queue order is the call order.
        var senders = Enumerable.Range(0, 20).Select(i => ch.SendAsync(i).AsTask()).ToArray();
        Assert.All(senders, s => Assert.False(s.IsCompleted));
        for (int i = 0; i < prefill; i++) Assert.Equal(-1, await ch.ReceiveAsync().Within());
        for (int i = 0; i < 20; i++) Assert.Equal(i, await ch.ReceiveAsync().Within());
        await Task.WhenAll(senders).Within();
    }

    [Fact]
    public async Task Blocked_receivers_are_served_in_FIFO_order()
    {
        var ch = Make();
        var receivers = Enumerable.Range(0, 20).Select(_ => ch.ReceiveAsync().AsTask()).ToArray();
        for (int i = 0; i < 20; i++) await ch.SendAsync(i).Within();
        for (int i = 0; i < 20; i++) Assert.Equal(i, await receivers[i].Within());
    }

    [Fact]
    public async Task A_cancelled_receive_consumes_nothing_and_a_cancelled_send_delivers_nothing()
    {
        var ch = Make();
        using var cts = new CancellationTokenSource();
        var r = ch.ReceiveAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => r.Within());
        Assert.True(ch.TrySend(7) || ch.Capacity == 0);

        var ch2 = Make();
        while (ch2.TrySend(-1)) { }
        using var cts2 = new CancellationTokenSource();
        var s = ch2.SendAsync(42, cts2.Token).AsTask();
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s.Within());
        while (ch2.TryReceive(out var v)) Assert.Equal(-1, v); // 42 never arrives
    }

    [Fact]
    public async Task An_already_cancelled_token_wins_over_a_ready_counterpart_and_moves_nothing()
    {
        // As in System.Threading.Channels: a token cancelled before the call makes every form throw
        // OperationCanceledException without trying the operation, even when it could complete at once.
        var cancelled = new CancellationToken(true);

        var ch = Make();
        var sender = GoTask.Run(() => ch.SendAsync(5).AsTask()); // buffered: completes at once; unbuffered: parks
        Parked.Sender(ch);
        Assert.Throws<OperationCanceledException>(() => ch.Receive(cancelled));
        Assert.Throws<OperationCanceledException>(() => ch.Receive(out _, cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ch.ReceiveAsync(cancelled).AsTask()).Within();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ch.ReceiveOkAsync(cancelled).AsTask()).Within();
        var sel = new Select();
        sel.Receive(ch);
        Assert.Throws<OperationCanceledException>(() => sel.Wait(cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sel.WaitAsync(cancelled).AsTask()).Within();
        Assert.True(ch.TryReceive(out int v));
        Assert.Equal(5, v);
        Assert.False(ch.TryReceive(out _)); // it was there once, and only once
        await sender.Within();

        var ch2 = Make();
        var receiver = GoTask.Run(() => ch2.ReceiveAsync().AsTask());
        Parked.Receiver(ch2); // buffered: room is enough
        Assert.Throws<OperationCanceledException>(() => ch2.Send(1, cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ch2.SendAsync(2, cancelled).AsTask()).Within();
        var sel2 = new Select();
        sel2.Send(ch2, 3);
        Assert.Throws<OperationCanceledException>(() => sel2.Wait(cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sel2.WaitAsync(cancelled).AsTask()).Within();
        Assert.Equal(0, ch2.Len);
        Assert.True(ch2.TrySend(4));
        Assert.Equal(4, await receiver.Within()); // none of 1, 2, 3 arrived
    }

    [Fact]
    public async Task Close_answers_pending_readiness_waits_with_false()
    {
        // The adapters' contract (ChannelWriter.WaitToWriteAsync, ChannelReader.WaitToReadAsync): false once the
        // channel is closed, never "writable" for a write that can no longer happen.
        var ch = Make();
        while (ch.TrySend(0)) { } // full; an unbuffered channel always is
        var writeWait = ch.AsChannelWriter().WaitToWriteAsync().AsTask();
        Assert.False(writeWait.IsCompleted);
        ch.Close();
        Assert.False(await writeWait.Within());

        var ch2 = Make();
        var readWait = ch2.AsChannelReader().WaitToReadAsync().AsTask();
        Assert.False(readWait.IsCompleted);
        ch2.Close();
        Assert.False(await readWait.Within());
    }

    [Fact]
    public async Task Cancellation_racing_delivery_never_loses_or_duplicates_a_value()
    {
        // Stress: senders and receivers whose tokens are cancelled at random moments. Every value the sender saw
        // delivered is received exactly once, and no value whose send was reported cancelled is ever received.
        var ch = Make();
        const int N = 4000;
        var delivered = new bool[N];
        var received = new int[N];
        var sender = Task.Run(async () =>
        {
            var rnd = new Random(1);
            for (int i = 0; i < N; i++)
            {
                var cts = new CancellationTokenSource();
                var t = ch.SendAsync(i, cts.Token);
                if (rnd.Next(3) == 0) ThreadPool.UnsafeQueueUserWorkItem(static c => c.Cancel(), cts, false);
                try { await t; delivered[i] = true; }
                catch (OperationCanceledException) { }
            }
            ch.Close();
        });
        var receiver = Task.Run(async () =>
        {
            var rnd = new Random(2);
            while (true)
            {
                var cts = new CancellationTokenSource();
                var t = ch.ReceiveOkAsync(cts.Token);
                if (rnd.Next(3) == 0) ThreadPool.UnsafeQueueUserWorkItem(static c => c.Cancel(), cts, false);
                try
                {
                    var (v, ok) = await t;
                    if (!ok) return;
                    Interlocked.Increment(ref received[v]);
                }
                catch (OperationCanceledException) { }
            }
        });
        await Task.WhenAll(sender, receiver).Within();
        for (int i = 0; i < N; i++) Assert.Equal(delivered[i] ? 1 : 0, received[i]);
    }

    [Fact]
    public async Task Goroutines_plain_threads_and_ThreadPool_code_exchange_values()
    {
        var ch = Make();
        var back = Make();
        // goroutine -> blocking thread -> ThreadPool async -> goroutine
        var g = GoTask.Run(async () =>
        {
            int sum = 0;
            for (int i = 0; i < 300; i++)
            {
                await ch.SendAsync(i);
                sum += await back.ReceiveAsync();
            }
            return sum;
        });
        var mid = Make();
        var thread = new Thread(() => { for (int i = 0; i < 300; i++) mid.Send(ch.Receive() * 2); }) { IsBackground = true };
        thread.Start();
        var pool = Task.Run(async () => { for (int i = 0; i < 300; i++) await back.SendAsync(await mid.ReceiveAsync() + 1); });
        Assert.Equal(Enumerable.Range(0, 300).Sum(i => i * 2 + 1), await g.Within());
        await pool.Within();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Many_producers_and_consumers_lose_and_duplicate_nothing()
    {
        var ch = Make();
        const int P = 4, PerP = 5000;
        var seen = new int[P * PerP];
        var producers = Enumerable.Range(0, P).Select(p => GoTask.Run(async () =>
        {
            for (int i = 0; i < PerP; i++) await ch.SendAsync(p * PerP + i);
        })).ToArray();
        var consumers = Enumerable.Range(0, P).Select(_ => GoTask.Run(async () =>
        {
            await foreach (var v in ch) Interlocked.Increment(ref seen[v]);
        })).ToArray();
        await Task.WhenAll(producers).Within();
        ch.Close();
        await Task.WhenAll(consumers).Within();
        Assert.All(seen, c => Assert.Equal(1, c));
    }
}

public sealed class UnbufferedChanTests : ChanContractTests
{
    protected override Chan<int> Make() => new(0);

    [Fact]
    public void Unbuffered_send_with_no_receiver_is_not_ready()
    {
        var ch = Make();
        Assert.False(ch.TrySend(1));
        Assert.Equal(0, ch.Capacity);
        Assert.Equal(0, ch.Len);
    }
}

public sealed class BufferedOneChanTests : ChanContractTests
{
    protected override Chan<int> Make() => new(1);
}

public sealed class BufferedChanTests : ChanContractTests
{
    protected override Chan<int> Make() => new(16);

    [Fact]
    public async Task Buffered_values_are_still_received_after_close()
    {
        var ch = Make();
        for (int i = 0; i < 5; i++) Assert.True(ch.TrySend(i));
        Assert.Equal(5, ch.Len);
        Assert.Equal(16, ch.Capacity);
        ch.Close();
        for (int i = 0; i < 5; i++) Assert.Equal((i, true), await ch.ReceiveOkAsync().Within());
        Assert.Equal((0, false), await ch.ReceiveOkAsync().Within());
    }
}

public sealed class ChanConstructionTests
{
    [Fact]
    public void Negative_capacity_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Chan<int>(-1));
        Assert.Equal("capacity", e.ParamName);
    }

    [Fact]
    public void A_capacity_beyond_the_largest_array_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Chan<int>(int.MaxValue));
        Assert.Equal("capacity", e.ParamName);
        Assert.Contains(int.MaxValue.ToString(), e.Message);
        Assert.Contains(Array.MaxLength.ToString(), e.Message);
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Size = 1 << 15)]
    private struct Huge { }

    [Fact]
    public void A_buffer_too_large_to_allocate_is_an_error_naming_the_capacity()
    {
        // 2^31 slots of 32 KB: more than any address space. The runtime's bare OutOfMemoryException is wrapped in
        // one that says which channel could not be made.
        var e = Assert.Throws<OutOfMemoryException>(() => new Chan<Huge>(Array.MaxLength));
        Assert.Contains(Array.MaxLength.ToString(), e.Message);
        Assert.Contains("Huge", e.Message);
        Assert.NotNull(e.InnerException);
    }

    [Fact]
    public void A_buffered_sender_blocks_only_when_the_buffer_is_full()
    {
        var ch = new Chan<int>(3);
        Assert.True(ch.TrySend(1));
        Assert.True(ch.TrySend(2));
        Assert.True(ch.TrySend(3));
        Assert.False(ch.TrySend(4));
        Assert.Equal(3, ch.Len);
    }
}
