using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// The channel contract (STYLE 13): every rule that holds for every flavour, run against each of them: the local
/// flavours (LocalChanContractTests.cs) and the IPC transports, in-process and across processes
/// (tests/Weft.Ipc.Tests/TransportContractTests.cs, which compiles this file too).
/// </summary>
/// <remarks>
/// <para>A flavour gives a sending side and a receiving side (<see cref="Ends"/>): a local channel is both; an IPC
/// flavour gives the sender endpoint's channel and the receiver endpoint's channel of one stream. Every test sends,
/// closes and fills on <see cref="Ends.Tx"/> and receives on <see cref="Ends.Rx"/>, so each rule means the same for
/// both: "the channel" is the stream from Tx to Rx.</para>
/// <para>What differs between flavours is said by two members rather than by skipping tests:
/// <see cref="Fill"/> (how to make a send park: fill a buffer; an unbuffered channel already is full; a
/// cross-process relay needs its relay stopped too) and <see cref="Rendezvous"/> (whether a send completes only
/// when a receiver takes the value). The rest holds as written for all.</para>
/// </remarks>
public abstract partial class ChanContractTests : IDisposable
{
    /// <summary>One channel as the contract sees it: values are sent (and the channel closed) on Tx and received on Rx.</summary>
    public readonly record struct Ends(Chan<int> Tx, Chan<int> Rx)
    {
        /// <summary>A local channel: the same channel is both sides.</summary>
        public static Ends Local(Chan<int> ch) => new(ch, ch);
    }

    private readonly List<IDisposable> _owned = [];

    /// <summary>A new channel of this flavour.</summary>
    protected abstract Ends Make();

    /// <summary>
    /// True when a send completes only as a receiver takes its value (an unbuffered local channel). False when it
    /// completes into a buffer (a buffered channel; for a transport, the kernel's).
    /// </summary>
    protected virtual bool Rendezvous => false;

    /// <summary>
    /// Makes the next send on <paramref name="ends"/> park: sends <paramref name="value"/> until a send would block
    /// and stays so until something receives on Rx; returns how many it sent. The default (TrySend until it fails)
    /// is right wherever nothing drains Tx but a receive on Rx.
    /// </summary>
    protected virtual int Fill(Ends ends, int value)
    {
        int n = 0;
        while (ends.Tx.TrySend(value)) n++;
        return n;
    }

    /// <summary>Disposes <paramref name="resource"/> after the test (endpoints, child processes).</summary>
    protected T Own<T>(T resource) where T : IDisposable
    {
        lock (_owned) _owned.Add(resource);
        return resource;
    }

    public void Dispose()
    {
        lock (_owned)
        {
            for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
            _owned.Clear();
        }
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Values_sent_by_a_goroutine_are_received_in_order()
    {
        var (tx, rx) = Make();
        var producer = GoTask.Run(async () =>
        {
            for (int i = 0; i < 1000; i++) await tx.SendAsync(i);
            tx.Close();
        });
        var got = await GoTask.Run(async () =>
        {
            var list = new List<int>();
            await foreach (var v in rx) list.Add(v);
            return list;
        }).Within();
        await producer.Within();
        Assert.Equal(Enumerable.Range(0, 1000), got);
    }

    [Fact]
    public async Task Receive_on_closed_and_drained_channel_returns_default_and_not_ok()
    {
        var (tx, rx) = Make();
        tx.Close();
        var (v, ok) = await rx.ReceiveOkAsync().Within();
        Assert.Equal(0, v);
        Assert.False(ok);
        Assert.Equal(0, await rx.ReceiveAsync().Within());
        Assert.True(rx.TryReceive(out _, out bool ok2));
        Assert.False(ok2);
        Assert.False(rx.TryReceive(out _));
        Assert.Equal(0, rx.Receive(out bool ok3));
        Assert.False(ok3);
    }

    [Fact]
    public async Task Close_wakes_every_parked_receiver_with_not_ok()
    {
        var (tx, rx) = Make();
        var receivers = Enumerable.Range(0, 8).Select(_ => rx.ReceiveOkAsync().AsTask()).ToArray();
        Assert.All(receivers, r => Assert.False(r.IsCompleted));
        tx.Close();
        foreach (var r in receivers) Assert.False((await r.Within()).Ok);
    }

    [Fact]
    public async Task Close_wakes_a_parked_ReceiveAsync_with_default_not_an_exception()
    {
        // A receive parked from plain async code (not a goroutine: no deferred wait) is a channel receive, not a
        // ChannelReader.ReadAsync: woken by close it returns default, where the adapter's read would throw.
        var (tx, rx) = Make();
        var receivers = Enumerable.Range(0, 4).Select(_ => rx.ReceiveAsync().AsTask()).ToArray();
        Assert.All(receivers, r => Assert.False(r.IsCompleted));
        tx.Close();
        foreach (var r in receivers) Assert.Equal(0, await r.Within());
    }

    [Fact]
    public async Task Close_wakes_parked_senders_with_ChannelClosedException()
    {
        var ends = Make();
        Fill(ends, 1);
        var sender = ends.Tx.SendAsync(2).AsTask();
        Assert.False(sender.IsCompleted);
        ends.Tx.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => sender.Within());
    }

    [Fact]
    public async Task Send_on_closed_channel_throws()
    {
        var (tx, _) = Make();
        tx.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => tx.SendAsync(1).AsTask());
        Assert.Throws<ChannelClosedException>(() => tx.TrySend(1));
        Assert.Throws<ChannelClosedException>(() => tx.Send(1));
    }

    [Fact]
    public void Closing_twice_throws()
    {
        var (tx, _) = Make();
        tx.Close();
        Assert.Throws<ChannelClosedException>(tx.Close);
    }

    [Fact]
    public async Task Blocked_senders_are_served_in_FIFO_order()
    {
        var ends = Make();
        var (tx, rx) = ends;
        int prefill = Fill(ends, -1);
        // From one thread, each SendAsync parks before the next starts: the queue order is the call order.
        var senders = Enumerable.Range(0, 20).Select(i => tx.SendAsync(i).AsTask()).ToArray();
        Assert.All(senders, s => Assert.False(s.IsCompleted));
        for (int i = 0; i < prefill; i++) Assert.Equal(-1, await rx.ReceiveAsync().Within());
        for (int i = 0; i < 20; i++) Assert.Equal(i, await rx.ReceiveAsync().Within());
        await Task.WhenAll(senders).Within();
    }

    [Fact]
    public async Task Every_completed_send_arrives_though_nothing_is_sent_after_it()
    {
        // "Send completed" promises delivery: a value that completed into a buffer (a transport's kernel buffer or its
        // one-frame outbox) reaches the receiver without a later send, a parked sender or a close to push it out.
        var ends = Make();
        int prefill = Fill(ends, 7);
        for (int i = 0; i < prefill; i++) Assert.Equal(7, await ends.Rx.ReceiveAsync().Within());
        Assert.False(ends.Rx.TryReceive(out _));
    }

    [Fact]
    public async Task Blocked_receivers_are_served_in_FIFO_order()
    {
        var (tx, rx) = Make();
        var receivers = Enumerable.Range(0, 20).Select(_ => rx.ReceiveAsync().AsTask()).ToArray();
        for (int i = 0; i < 20; i++) await tx.SendAsync(i).Within();
        for (int i = 0; i < 20; i++) Assert.Equal(i, await receivers[i].Within());
    }

    [Fact]
    public async Task A_cancelled_receive_consumes_nothing_and_a_cancelled_send_delivers_nothing()
    {
        var (tx, rx) = Make();
        using var cts = new CancellationTokenSource();
        var r = rx.ReceiveAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => r.Within());
        var late = tx.SendAsync(7).AsTask(); // rendezvous: completes when the receive below takes it
        Assert.Equal(7, await rx.ReceiveAsync().Within()); // the cancelled receive took nothing
        await late.Within();

        var ends2 = Make();
        int prefill = Fill(ends2, -1);
        using var cts2 = new CancellationTokenSource();
        var s = ends2.Tx.SendAsync(42, cts2.Token).AsTask();
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s.Within());
        ends2.Tx.Close();
        var drained = Task.Run(async () =>
        {
            var values = new List<int>();
            await foreach (int v in ends2.Rx) values.Add(v);
            return values;
        });
        Assert.Equal(Enumerable.Repeat(-1, prefill), await drained.Within()); // 42 never arrives
    }

    [Fact]
    public async Task An_already_cancelled_token_wins_over_a_ready_counterpart_and_moves_nothing()
    {
        // As in System.Threading.Channels: a token cancelled before the call makes every form throw
        // OperationCanceledException without trying the operation, even when it could complete at once.
        var cancelled = new CancellationToken(true);

        var (tx, rx) = Make();
        var sender = GoTask.Run(() => tx.SendAsync(5).AsTask()); // buffered: completes at once; unbuffered: parks
        Parked.Sender(rx);
        Assert.Throws<OperationCanceledException>(() => rx.Receive(cancelled));
        Assert.Throws<OperationCanceledException>(() => rx.Receive(out _, cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rx.ReceiveAsync(cancelled).AsTask()).Within();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rx.ReceiveOkAsync(cancelled).AsTask()).Within();
        var sel = new Select();
        sel.Receive(rx);
        Assert.Throws<OperationCanceledException>(() => sel.Wait(cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sel.WaitAsync(cancelled).AsTask()).Within();
        Assert.True(rx.TryReceive(out int v));
        Assert.Equal(5, v);
        Assert.False(rx.TryReceive(out _)); // it was there once, and only once
        await sender.Within();

        var (tx2, rx2) = Make();
        var receiver = GoTask.Run(() => rx2.ReceiveAsync().AsTask());
        Parked.Receiver(tx2); // buffered: room is enough
        Assert.Throws<OperationCanceledException>(() => tx2.Send(1, cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tx2.SendAsync(2, cancelled).AsTask()).Within();
        var sel2 = new Select();
        sel2.Send(tx2, 3);
        Assert.Throws<OperationCanceledException>(() => sel2.Wait(cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sel2.WaitAsync(cancelled).AsTask()).Within();
        Assert.Equal(0, rx2.Len);
        Assert.True(tx2.TrySend(4));
        Assert.Equal(4, await receiver.Within()); // none of 1, 2, 3 arrived
    }

    [Fact]
    public async Task Close_answers_pending_readiness_waits_with_false()
    {
        // The adapters' contract (ChannelWriter.WaitToWriteAsync, ChannelReader.WaitToReadAsync): false once the
        // channel is closed, never "writable" for a write that can no longer happen.
        var ends = Make();
        Fill(ends, 0); // full; an unbuffered channel always is
        var writeWait = ends.Tx.AsChannelWriter().WaitToWriteAsync().AsTask();
        Assert.False(writeWait.IsCompleted);
        ends.Tx.Close();
        Assert.False(await writeWait.Within());

        var (tx2, rx2) = Make();
        var readWait = rx2.AsChannelReader().WaitToReadAsync().AsTask();
        Assert.False(readWait.IsCompleted);
        tx2.Close();
        Assert.False(await readWait.Within());
    }

    [Fact]
    public async Task Cancellation_racing_delivery_never_loses_or_duplicates_a_value()
    {
        // Stress: senders and receivers whose tokens are cancelled at random moments. Every value the sender saw
        // delivered is received exactly once, and no value whose send was reported cancelled is ever received.
        var (tx, rx) = Make();
        const int N = 4000;
        var delivered = new bool[N];
        var received = new int[N];
        var sender = Task.Run(async () =>
        {
            var rnd = new Random(1);
            for (int i = 0; i < N; i++)
            {
                var cts = new CancellationTokenSource();
                var t = tx.SendAsync(i, cts.Token);
                if (rnd.Next(3) == 0) ThreadPool.UnsafeQueueUserWorkItem(static c => c.Cancel(), cts, false);
                try { await t; delivered[i] = true; }
                catch (OperationCanceledException) { }
            }
            tx.Close();
        });
        var receiver = Task.Run(async () =>
        {
            var rnd = new Random(2);
            while (true)
            {
                var cts = new CancellationTokenSource();
                var t = rx.ReceiveOkAsync(cts.Token);
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
                await ch.Tx.SendAsync(i);
                sum += await back.Rx.ReceiveAsync();
            }
            return sum;
        });
        var mid = Make();
        var thread = new Thread(() => { for (int i = 0; i < 300; i++) mid.Tx.Send(ch.Rx.Receive() * 2); }) { IsBackground = true };
        thread.Start();
        var pool = Task.Run(async () => { for (int i = 0; i < 300; i++) await back.Tx.SendAsync(await mid.Rx.ReceiveAsync() + 1); });
        Assert.Equal(Enumerable.Range(0, 300).Sum(i => i * 2 + 1), await g.Within());
        await pool.Within();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Many_producers_and_consumers_lose_and_duplicate_nothing()
    {
        var (tx, rx) = Make();
        const int P = 4, PerP = 5000;
        var seen = new int[P * PerP];
        var producers = Enumerable.Range(0, P).Select(p => GoTask.Run(async () =>
        {
            for (int i = 0; i < PerP; i++) await tx.SendAsync(p * PerP + i);
        })).ToArray();
        var consumers = Enumerable.Range(0, P).Select(_ => GoTask.Run(async () =>
        {
            await foreach (var v in rx) Interlocked.Increment(ref seen[v]);
        })).ToArray();
        await Task.WhenAll(producers).Within();
        tx.Close();
        await Task.WhenAll(consumers).Within();
        Assert.All(seen, c => Assert.Equal(1, c));
    }
}
