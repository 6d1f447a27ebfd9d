using Weft.Ipc.Interop;
using Weft.Tests;
using Xunit;
using static Weft.Ipc.Tests.Sequences;

namespace Weft.Ipc.Tests;

public class MessageQueueTests
{
    private static string NewName() => $"/weft-test-{Environment.ProcessId}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Values_cross_a_queue_between_two_endpoints_in_order_none_lost_and_the_close_comes_after_the_drain()
    {
        const int N = 5_000; // far more than the capacity: senders wait on a full queue, receivers on an empty one
        string name = NewName();
        using var receiver = IpcMessageQueue.CreateReceiver(name, IpcCodec.Unmanaged<long>(), capacity: 4, maxMessageSize: 8);
        using var sender = IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<long>());
        var reading = Gor.Run(() => Drain(receiver.Channel));
        await Gor.Run(() => SendAll(sender.Channel, N));
        AssertSequence(await reading, N);
        Assert.Null(receiver.Error);
        Assert.True(receiver.Channel.IsClosed);
    }

    [Fact]
    public async Task A_higher_priority_sender_overtakes_and_the_close_message_still_comes_last()
    {
        string name = NewName();
        using var receiver = IpcMessageQueue.CreateReceiver(name, IpcCodec.Unmanaged<long>(), capacity: 10, maxMessageSize: 8);
        using var low = IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<long>());
        using var high = IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<long>(), priority: 7);
        for (long i = 0; i < 4; i++) await low.Channel.SendAsync(i).Within();
        low.Channel.Close(); // the close message (priority 0) is queued now, before high's values
        for (long i = 100; i < 104; i++) await high.Channel.SendAsync(i).Within();
        var got = await Gor.Run(() => Drain(receiver.Channel));
        Assert.Equal(new long[] { 100, 101, 102, 103, 0, 1, 2, 3 }, got);
        Assert.Null(receiver.Error);
    }

    [Fact]
    public async Task A_select_waits_on_a_queue_and_a_local_channel_and_every_value_arrives_exactly_once()
    {
        const int N = 2_000;
        string name = NewName();
        using var receiver = IpcMessageQueue.CreateReceiver(name, IpcCodec.Unmanaged<long>(), capacity: 8, maxMessageSize: 8);
        using var sender = IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<long>());
        var local = new Chan<long>();
        var fromQueue = new List<long>();
        var fromLocal = new List<long>();
        var consuming = Gor.Run(async () =>
        {
            var sel = new Select();
            var q = sel.Receive(receiver.Channel);
            var l = sel.Receive(local);
            while (q.Channel is not null || l.Channel is not null)
            {
                int i = await sel.WaitAsync();
                var c = i == 0 ? q : l;
                if (!c.Ok) c.Channel = null;
                else (i == 0 ? fromQueue : fromLocal).Add(c.Value);
            }
        });
        var queueSends = Gor.Run(() => SendAll(sender.Channel, N));
        var localSends = Gor.Run(() => SendAll(local, N));
        await Task.WhenAll(queueSends, localSends, consuming);
        AssertSequence(fromQueue, N);
        AssertSequence(fromLocal, N);
    }

    /// <summary>
    /// A sender's descriptor is registered with no poll interest, and write readiness is added to its epoll entry only
    /// when it first waits for room (MessageQueue.ArmWrite, Netpoll.Watch by EPOLL_CTL_MOD). This pins that first
    /// wait: the queue is filled, the sending goroutine parks on it (by SendAsync, or by a select's send), and only
    /// then does a receiver on another descriptor start to drain. Were the Watch missing, the drain would make room
    /// that no epoll entry listens for, and the parked send would never complete (the bounded wait fails).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_sender_parked_on_a_full_queue_is_woken_by_a_drain_from_another_descriptor_and_every_value_arrives_once_in_order(bool bySelect)
    {
        const int Capacity = 4, N = 200;
        string name = NewName();
        using var sender = IpcMessageQueue.CreateSender(name, IpcCodec.Unmanaged<long>(), capacity: Capacity, maxMessageSize: 8);
        using var receiver = IpcMessageQueue.OpenReceiver(name, IpcCodec.Unmanaged<long>());
        var parked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new Chan<long>();
        var sending = Gor.Run(async () =>
        {
            for (long i = 0; i < N; i++)
            {
                var send = bySelect ? SendBySelect(sender.Channel, i, never) : sender.Channel.SendAsync(i);
                if (!send.IsCompleted) parked.TrySetResult(i); // the first send that had to wait for room
                await send;
            }
            sender.Channel.Close();
        });
        // Nothing is received before a send parked, so the queue first has room while the sender waits for it.
        long firstParked = await parked.Task.Within();
        Assert.True(firstParked >= Capacity, $"the send of {firstParked} parked before the queue of {Capacity} was full");
        Assert.False(sending.IsCompleted);
        var got = await Gor.Run(() => Drain(receiver.Channel));
        await sending;
        AssertSequence(got, N);
        Assert.Null(receiver.Error);

        static async ValueTask SendBySelect(SendOnlyChan<long> ch, long value, Chan<long> never)
        {
            var sel = new Select();
            sel.Send(ch, value);
            sel.Receive(never); // a second case, so that this is a select's wait and not a plain send's
            Assert.Equal(0, await sel.WaitAsync());
        }
    }

    [Fact]
    public async Task A_receive_cancelled_while_parked_on_an_empty_queue_takes_nothing()
    {
        string name = NewName();
        using var receiver = IpcMessageQueue.CreateReceiver(name, IpcCodec.Unmanaged<long>(), capacity: 4, maxMessageSize: 8);
        using var sender = IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<long>());
        using var cts = new CancellationTokenSource();
        var parked = receiver.Channel.ReceiveAsync(cts.Token);
        Assert.False(parked.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await parked.Within());
        await sender.Channel.SendAsync(7).Within();
        await sender.Channel.SendAsync(8).Within();
        Assert.Equal(7, await receiver.Channel.ReceiveAsync().Within());
        Assert.Equal(8, await receiver.Channel.ReceiveAsync().Within());
    }

    [Fact]
    public async Task A_value_too_large_closes_the_sender_and_the_receiver_gets_the_reason()
    {
        string name = NewName();
        using var receiver = IpcMessageQueue.CreateReceiver(name, IpcCodec.Bytes(1024), capacity: 4, maxMessageSize: 16);
        using var sender = IpcMessageQueue.OpenSender(name, IpcCodec.Bytes(1024));
        await sender.Channel.SendAsync([1, 2, 3]).Within();
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await sender.Channel.SendAsync(new byte[100]).Within());
        Assert.IsType<ArgumentException>(sender.Error);
        Assert.Contains("at most 16 bytes", sender.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(new byte[] { 1, 2, 3 }, await receiver.Channel.ReceiveAsync().Within());
        var (_, ok) = await receiver.Channel.ReceiveOkAsync().Within();
        Assert.False(ok);
        Assert.IsType<IpcProtocolException>(receiver.Error);
        // The reason travels in the close message, so a queue of 16-byte messages carries its first 16 bytes.
        Assert.Contains($"The sender closed message queue {name} with an error", receiver.Error!.Message, StringComparison.Ordinal);
        Assert.EndsWith(": A value of 100 b", receiver.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public unsafe void The_queue_is_created_0600_exclusively_and_the_creator_unlinks_it()
    {
        string name = NewName();
        var receiver = IpcMessageQueue.CreateReceiver(name, IpcCodec.Unmanaged<int>(), capacity: 2, maxMessageSize: 4);
        int fd = Libc.MqOpen(name, Libc.O_RDONLY, 0, null);
        Assert.True(fd >= 0, "the queue exists under its name");
        Libc.Statx st;
        Assert.Equal(0, Libc.StatxCall(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &st));
        Assert.Equal(0x180, st.Mode & 0x1FF); // 0600
        Libc.Close(fd);

        var taken = Assert.Throws<IpcException>(() => IpcMessageQueue.CreateSender(name, IpcCodec.Unmanaged<int>(), 2, 4));
        Assert.Equal(17, taken.Errno);
        Assert.Contains("A queue of that name exists", taken.Message, StringComparison.Ordinal);

        using (IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<int>()))
        {
        }
        using (IpcMessageQueue.OpenReceiver(name, IpcCodec.Unmanaged<int>()))
        {
        }
        Assert.True(Libc.MqOpen(name, Libc.O_RDONLY, 0, null) is int again && again >= 0 && Libc.Close(again) == 0,
            "an opener's Dispose leaves the name");
        receiver.Dispose();
        var gone = Assert.Throws<IpcException>(() => IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<int>()));
        Assert.Equal(2, gone.Errno);
        Assert.Contains("mq_open(" + name + ")", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_and_bad_arguments_get_errors_that_name_the_sysctl_or_the_range()
    {
        long msgMax = IpcMessageQueue.ReadLimit("/proc/sys/fs/mqueue/msg_max")!.Value;
        long sizeMax = IpcMessageQueue.ReadLimit("/proc/sys/fs/mqueue/msgsize_max")!.Value;
        var codec = IpcCodec.Unmanaged<int>();
        var cap = Assert.Throws<ArgumentOutOfRangeException>(() => IpcMessageQueue.CreateReceiver(NewName(), codec, (int)msgMax + 1, 4));
        Assert.Equal("capacity", cap.ParamName);
        Assert.Contains("/proc/sys/fs/mqueue/msg_max", cap.Message, StringComparison.Ordinal);
        Assert.Contains("fs.mqueue.msg_max", cap.Message, StringComparison.Ordinal);
        var size = Assert.Throws<ArgumentOutOfRangeException>(() => IpcMessageQueue.CreateSender(NewName(), codec, 1, (int)sizeMax + 1));
        Assert.Contains("/proc/sys/fs/mqueue/msgsize_max", size.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcMessageQueue.CreateReceiver(NewName(), codec, 0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcMessageQueue.CreateReceiver(NewName(), codec, 1, 0));
        // A limit that cannot be read is not enforced here (the kernel still is), and a limit names its file.
        IpcMessageQueue.CheckLimit(1_000_000, null, "/proc/sys/fs/mqueue/msg_max", "capacity", "capacity");
        Assert.Null(IpcMessageQueue.ReadLimit("/proc/sys/fs/mqueue/no-such-limit"));

        foreach (int p in new[] { 0, -1, 32768 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => IpcMessageQueue.OpenSender(NewName(), codec, p));
            Assert.Contains("from 1 to 32767", e.Message, StringComparison.Ordinal);
        }
        foreach (string bad in new[] { "", "/", "a/b", "//x", "..", new string('x', 255) })
        {
            var e = Assert.Throws<ArgumentException>(() => IpcMessageQueue.OpenReceiver(bad, codec));
            Assert.Contains("A message queue's name", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal("/abc", IpcMessageQueue.NormalizeName("abc"));
        Assert.Equal("/abc", IpcMessageQueue.NormalizeName("/abc"));
        Assert.Throws<ArgumentNullException>(() => IpcMessageQueue.OpenReceiver<int>("x", null!));
        Assert.Contains("queues_max", IpcMessageQueue.OpenFailed("/q", 28).Message, StringComparison.Ordinal);
        Assert.Contains("RLIMIT_MSGQUEUE", IpcMessageQueue.OpenFailed("/q", 24).Message, StringComparison.Ordinal);
    }
}
