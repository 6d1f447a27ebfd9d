using System.Threading.Channels;
using Weft.Testing;
using Xunit;
using BclClosed = System.Threading.Channels.ChannelClosedException;

namespace Weft.Tests.Channels;

/// <summary>
/// Chan&lt;T&gt; through System.Threading.Channels' ChannelReader/ChannelWriter (AsChannelReader/AsChannelWriter): the
/// BCL contract on one side, Go's rules on the other, and the readiness waits that take or give nothing.
/// </summary>
public class ChannelAdapterTests
{
    [Fact]
    public async Task ReadAllAsync_receives_every_value_in_order_until_closed()
    {
        var ch = new Chan<int>(4);
        var producer = GoTask.Run(async () =>
        {
            for (int i = 0; i < 500; i++) await ch.SendAsync(i);
            ch.Close();
        });
        var got = await Task.Run(async () =>
        {
            var list = new List<int>();
            await foreach (int v in ch.AsChannelReader().ReadAllAsync()) list.Add(v);
            return list;
        }).Within();
        await producer.Within();
        Assert.Equal(Enumerable.Range(0, 500), got);
    }

    [Fact]
    public async Task Completion_completes_only_once_the_channel_is_closed_and_drained()
    {
        var ch = new Chan<int>(2);
        var reader = ch.AsChannelReader();
        Assert.Same(reader, ch.AsChannelReader());
        Assert.Same(ch.AsChannelWriter(), ch.AsChannelWriter());
        var early = reader.Completion; // read before the close: fired by the receive that drains
        Assert.True(ch.TrySend(1));
        Assert.True(ch.TrySend(2));
        ch.Close();
        Assert.False(early.IsCompleted);
        Assert.True(reader.TryRead(out int a));
        Assert.False(reader.Completion.IsCompleted);
        Assert.True(reader.TryRead(out int b));
        await early.Within();
        await reader.Completion.Within();
        Assert.Equal((1, 2), (a, b));
        Assert.Same(early, reader.Completion);

        var empty = new Chan<int>();
        var pending = empty.AsChannelReader().Completion;
        Assert.False(pending.IsCompleted);
        empty.Close();
        await pending.Within();
    }

    [Fact]
    public async Task WaitToReadAsync_takes_nothing_so_an_unbuffered_sender_completes_only_when_read()
    {
        var ch = new Chan<int>();
        var reader = ch.AsChannelReader();
        var wait = reader.WaitToReadAsync().AsTask(); // parks: nothing to read yet
        Assert.False(wait.IsCompleted);
        var send = GoTask.Run(async () => await ch.SendAsync(7));
        Assert.True(await wait.Within());
        Assert.True(await reader.WaitToReadAsync().Within()); // still ready: nothing was taken
        Assert.False(send.IsCompleted);                        // a rendezvous: the sender waits for a real read
        Assert.True(reader.TryPeek(out int peeked));
        Assert.Equal(7, peeked);
        Assert.Equal(0, reader.Count);
        Assert.True(reader.TryRead(out int v));
        Assert.Equal(7, v);
        await send.Within();
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public async Task After_close_the_reader_follows_System_Threading_Channels_and_Weft_keeps_Go_rules()
    {
        var ch = new Chan<int>(1);
        var reader = ch.AsChannelReader();
        var parkedRead = reader.ReadAsync().AsTask();
        Assert.True(ch.AsChannelWriter().TryComplete());
        Assert.False(await reader.WaitToReadAsync().Within());
        Assert.False(reader.TryRead(out _));
        await Assert.ThrowsAsync<BclClosed>(() => reader.ReadAsync().AsTask()).Within();
        await Assert.ThrowsAsync<BclClosed>(() => parkedRead).Within(); // a read parked before the close
        var (_, ok) = await ch.ReceiveOkAsync().Within();
        Assert.False(ok); // Go's rule on Weft's own API
        await reader.Completion.Within();
    }

    [Fact]
    public async Task Completing_with_an_error_faults_the_waits_the_reads_and_Completion_with_it()
    {
        var ch = new Chan<int>();
        var reader = ch.AsChannelReader();
        var writer = ch.AsChannelWriter();
        var parkedWait = reader.WaitToReadAsync().AsTask();
        var error = new InvalidDataException("producer failed");
        Assert.True(writer.TryComplete(error));
        Assert.Same(error, await Assert.ThrowsAsync<InvalidDataException>(() => parkedWait).Within());
        Assert.Same(error, await Assert.ThrowsAsync<InvalidDataException>(() => reader.WaitToReadAsync().AsTask()).Within());
        Assert.Same(error, await Assert.ThrowsAsync<InvalidDataException>(() => writer.WaitToWriteAsync().AsTask()).Within());
        var closed = await Assert.ThrowsAsync<BclClosed>(() => reader.ReadAsync().AsTask()).Within();
        Assert.Same(error, closed.InnerException);
        Assert.Same(error, await Assert.ThrowsAsync<InvalidDataException>(() => reader.Completion).Within());
        Assert.False(writer.TryComplete());
    }

    [Fact]
    public async Task TryWrite_and_WaitToWriteAsync_follow_the_buffer_and_give_nothing()
    {
        var ch = new Chan<int>(1);
        var writer = ch.AsChannelWriter();
        Assert.True(writer.TryWrite(1));
        Assert.False(writer.TryWrite(2));
        var wait = writer.WaitToWriteAsync().AsTask();
        Assert.False(wait.IsCompleted);
        Assert.Equal(1, ch.Len); // the wait gave nothing
        Assert.True(ch.TryReceive(out int first));
        Assert.Equal(1, first);
        Assert.True(await wait.Within());
        Assert.Equal(0, ch.Len);
        Assert.True(writer.TryWrite(2));
        Assert.True(ch.TryReceive(out int second));
        Assert.Equal(2, second);
    }

    [Fact]
    public async Task On_an_unbuffered_channel_WaitToWriteAsync_waits_for_a_parked_receiver()
    {
        var ch = new Chan<int>();
        var writer = ch.AsChannelWriter();
        Assert.False(writer.TryWrite(5)); // nobody to take it
        var wait = writer.WaitToWriteAsync().AsTask();
        Assert.False(wait.IsCompleted);
        var receive = GoTask.Run(async () => await ch.ReceiveAsync());
        Assert.True(await wait.Within());
        Assert.True(writer.TryWrite(5));
        Assert.Equal(5, await receive.Within());
    }

    [Fact]
    public async Task The_writer_follows_System_Threading_Channels_after_close()
    {
        var ch = new Chan<int>();
        var writer = ch.AsChannelWriter();
        var parkedWrite = writer.WriteAsync(1).AsTask();
        Assert.False(parkedWrite.IsCompleted);
        writer.Complete();
        await Assert.ThrowsAsync<BclClosed>(() => parkedWrite).Within();
        await Assert.ThrowsAsync<BclClosed>(() => writer.WriteAsync(2).AsTask()).Within();
        Assert.False(writer.TryWrite(3));
        Assert.False(await writer.WaitToWriteAsync().Within());
        Assert.False(writer.TryComplete());
        Assert.Throws<BclClosed>(() => writer.Complete());
        await Assert.ThrowsAsync<Weft.ChannelClosedException>(() => ch.SendAsync(4).AsTask()).Within(); // Weft's own API: Go's panic
        // A timer channel is a ReceiveOnlyChan: AsChannelWriter on it does not compile (TimerTests.A_timer_channel_is_receive_only).
    }

    [Fact]
    public async Task A_cancelled_wait_or_read_consumes_nothing()
    {
        var ch = new Chan<int>(1);
        var reader = ch.AsChannelReader();
        using var cts = new CancellationTokenSource();
        var wait = reader.WaitToReadAsync(cts.Token).AsTask();
        var read = reader.ReadAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait).Within();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read).Within();
        Assert.True(ch.TrySend(3));
        Assert.True(reader.TryRead(out int v));
        Assert.Equal(3, v);

        using var cts2 = new CancellationTokenSource();
        Assert.True(ch.TrySend(4));
        var writeWait = ch.AsChannelWriter().WaitToWriteAsync(cts2.Token).AsTask();
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writeWait).Within();
        Assert.Equal(1, ch.Len);
    }

    [Fact]
    public async Task A_select_send_case_wakes_an_adapter_reader_which_takes_its_value()
    {
        var ch = new Chan<int>();
        var other = new Chan<int>();
        var reader = ch.AsChannelReader();
        var wait = reader.WaitToReadAsync().AsTask();
        var chosen = GoTask.Run(async () =>
        {
            var sel = new Select();
            sel.Receive(other);
            sel.Send(ch, 42);
            return await sel.WaitAsync();
        });
        Assert.True(await wait.Within());
        Assert.True(reader.TryRead(out int v));
        Assert.Equal(42, v);
        Assert.Equal(1, await chosen.Within());
    }

    [Fact]
    public async Task Every_way_a_value_or_a_slot_appears_wakes_the_readiness_waits()
    {
        // A value buffered by a goroutine's send.
        var buffered = new Chan<int>(1);
        var readWait = buffered.AsChannelReader().WaitToReadAsync().AsTask();
        Assert.False(readWait.IsCompleted);
        await GoTask.Run(async () => await buffered.SendAsync(1)).Within();
        Assert.True(await readWait.Within());

        // A plain thread parked in the blocking Send (unbuffered).
        var unbuffered = new Chan<int>();
        var reader = unbuffered.AsChannelReader();
        readWait = reader.WaitToReadAsync().AsTask();
        var thread = new Thread(() => unbuffered.Send(9)) { IsBackground = true };
        thread.Start();
        Assert.True(await readWait.Within());
        Assert.True(reader.TryRead(out int v));
        Assert.Equal(9, v);
        Assert.True(thread.Join(TestTimeout.Default));

        // A plain thread parked in the blocking Receive (unbuffered): a send can proceed now.
        var writeWait = unbuffered.AsChannelWriter().WaitToWriteAsync().AsTask();
        Assert.False(writeWait.IsCompleted);
        int received = -1;
        thread = new Thread(() => received = unbuffered.Receive()) { IsBackground = true };
        thread.Start();
        Assert.True(await writeWait.Within());
        Assert.True(unbuffered.AsChannelWriter().TryWrite(11));
        Assert.True(thread.Join(TestTimeout.Default));
        Assert.Equal(11, received);

        // A timer firing into its channel.
        var timer = Go.After(TimeSpan.FromMilliseconds(1)).AsChannelReader();
        Assert.True(await timer.WaitToReadAsync().Within());
        Assert.True(timer.TryRead(out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    public async Task Adapter_readers_and_writers_beside_goroutines_lose_and_duplicate_nothing(int capacity)
    {
        int perWriter = Stress.Scale(2000);
        const int Writers = 4;
        var ch = new Chan<int>(capacity);
        var reader = ch.AsChannelReader();
        var writer = ch.AsChannelWriter();
        var seen = new int[Writers * 2 * perWriter];
        var writers = new List<Task>();
        for (int w = 0; w < Writers; w++)
        {
            int id = w;
            // Half write through the adapter (WaitToWriteAsync/TryWrite or WriteAsync), half through Weft's SendAsync.
            writers.Add(Task.Run(async () =>
            {
                for (int i = 0; i < perWriter; i++)
                {
                    int v = id * perWriter + i;
                    if (i % 2 == 0) await writer.WriteAsync(v);
                    else
                    {
                        while (!writer.TryWrite(v))
                            Assert.True(await writer.WaitToWriteAsync());
                    }
                }
            }));
            writers.Add(GoTask.Run(async () =>
            {
                for (int i = 0; i < perWriter; i++) await ch.SendAsync((Writers + id) * perWriter + i);
            }));
        }
        var readers = new List<Task>();
        for (int r = 0; r < 3; r++)
        {
            readers.Add(Task.Run(async () =>
            {
                while (await reader.WaitToReadAsync())
                    while (reader.TryRead(out int v)) Interlocked.Increment(ref seen[v]);
            }));
        }
        readers.Add(GoTask.Run(async () =>
        {
            while (true)
            {
                var (v, ok) = await ch.ReceiveOkAsync();
                if (!ok) return;
                Interlocked.Increment(ref seen[v]);
            }
        }));
        readers.Add(Task.Run(async () =>
        {
            try
            {
                while (true) Interlocked.Increment(ref seen[await reader.ReadAsync()]);
            }
            catch (BclClosed) { }
        }));
        await Task.WhenAll(writers).Within(TimeSpan.FromSeconds(60));
        writer.Complete();
        await Task.WhenAll(readers).Within(TimeSpan.FromSeconds(60));
        await reader.Completion.Within();
        Assert.All(seen, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Readiness_waiters_never_miss_a_wake_under_every_seed()
    {
        await Bubble.Explore(async b =>
        {
            foreach (int capacity in new[] { 0, 1 })
            {
                const int Writers = 2, PerWriter = 6;
                var ch = new Chan<int>(capacity);
                var reader = ch.AsChannelReader();
                var writer = ch.AsChannelWriter();
                var seen = new int[Writers * PerWriter + 1];
                var writersDone = new Weft.Sync.WaitGroup();
                var all = new Weft.Sync.WaitGroup();
                for (int w = 0; w < Writers; w++)
                {
                    int id = w;
                    writersDone.Go(async () =>
                    {
                        for (int i = 0; i < PerWriter; i++)
                        {
                            int v = id * PerWriter + i;
                            if (i % 2 == 0) await writer.WriteAsync(v); // parks as a sender: wakes read waiters
                            else
                            {
                                while (!writer.TryWrite(v))
                                    Assert.True(await writer.WaitToWriteAsync());
                            }
                        }
                    });
                }
                all.Go(async () =>
                {
                    // A select sender on the same channel: readiness must report its parked send case too.
                    var sel = new Select();
                    sel.Send(ch, Writers * PerWriter);
                    await sel.WaitAsync();
                    await writersDone.WaitAsync();
                    ch.Close();
                });
                for (int r = 0; r < 2; r++)
                {
                    all.Go(async () =>
                    {
                        while (await reader.WaitToReadAsync())
                            while (reader.TryRead(out int v)) seen[v]++;
                    });
                }
                // A reader that parks as a receiver: on an unbuffered channel a TryWrite needs one (readiness on both
                // sides never meets, as two Go selects with defaults never meet).
                all.Go(async () =>
                {
                    try
                    {
                        while (true) seen[await reader.ReadAsync()]++;
                    }
                    catch (System.Threading.Channels.ChannelClosedException) { }
                });
                await all.WaitAsync();
                Assert.All(seen, n => Assert.Equal(1, n));
            }
        }, seeds: 100).Within();
    }
}
