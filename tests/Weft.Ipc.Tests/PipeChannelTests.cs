using System.Buffers.Binary;
using Weft.Ipc.Framing;
using Weft.Ipc.Streams;
using Weft.Testing;
using Weft.Tests;
using Xunit;
using static Weft.Ipc.Tests.Sequences;

namespace Weft.Ipc.Tests;

public class PipeChannelTests
{
    [Fact]
    public async Task Values_cross_a_pipe_in_order_none_lost_or_duplicated_and_the_close_frame_ends_the_stream()
    {
        const int N = 20_000;
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (sender)
        using (receiver)
        {
            var reading = Gor.Run(() => Drain(receiver.Channel));
            await Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++) await sender.Channel.SendAsync(i);
                sender.Channel.Close();
            });
            AssertSequence(await reading, N);
            Assert.Null(receiver.Error);
            Assert.True(receiver.Channel.IsClosed);
            Assert.Equal(0, receiver.Channel.Capacity);
        }
    }

    [Fact]
    public async Task A_socket_pair_carries_both_directions_at_once()
    {
        const int N = 5_000;
        var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged<long>());
        using (a)
        using (b)
        {
            var aReads = Gor.Run(() => Drain(a.Receiver.Channel));
            var bReads = Gor.Run(() => Drain(b.Receiver.Channel));
            var aSends = Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++) await a.Sender.Channel.SendAsync(i);
                a.Sender.Channel.Close();
            });
            var bSends = Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++) await b.Sender.Channel.SendAsync(i);
                b.Sender.Channel.Close();
            });
            await Task.WhenAll(aSends, bSends);
            AssertSequence(await aReads, N);
            AssertSequence(await bReads, N);
        }
    }

    [Fact]
    public async Task Values_sent_before_the_close_are_received_after_it_then_ok_is_false()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        using (receiver)
        {
            await sender.Channel.SendAsync(1).Within();
            await sender.Channel.SendAsync(2).Within();
            sender.Dispose(); // the close frame follows the values
            Assert.Equal((1, true), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Equal((2, true), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Equal((0, false), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Equal((0, false), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Null(receiver.Error);
        }
    }

    /// <summary>A pipe whose write end the test drives byte by byte (the peer), read by a real receiver endpoint.</summary>
    internal static unsafe (Interop.FileDescriptor Peer, IpcReceiver<T> Receiver) RawPeer<T>(IpcCodec<T> codec, int maxFrame = 64)
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Interop.Libc.Pipe2(fds, Interop.Libc.O_CLOEXEC | Interop.Libc.O_NONBLOCK));
        var receiver = new IpcReceiver<T>(new StreamConnection(new Interop.FileDescriptor(fds[0]), 1), codec, maxFrame, "pipe");
        return (new Interop.FileDescriptor(fds[1]), receiver);
    }

    internal static byte[] Hello<T>(IpcCodec<T> codec, int maxFrame)
    {
        var b = new byte[FrameFormat.HelloSize];
        FrameFormat.WriteHello(b, codec.Fingerprint, maxFrame);
        return b;
    }

    internal static byte[] Frame(byte kind, ReadOnlySpan<byte> payload, uint? declared = null)
    {
        var b = new byte[FrameFormat.HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, declared ?? (uint)payload.Length);
        b[4] = kind;
        payload.CopyTo(b.AsSpan(FrameFormat.HeaderSize));
        return b;
    }

    internal static unsafe void Write(Interop.FileDescriptor peer, params byte[][] chunks)
    {
        foreach (var c in chunks)
        {
            fixed (byte* p = c) Assert.Equal(c.Length, (int)Interop.Libc.Write(peer.Fd, p, c.Length));
        }
    }

    [Fact]
    public async Task End_of_stream_without_a_close_frame_is_PeerLost_after_the_values_before_it()
    {
        var codec = IpcCodec.Unmanaged<int>();
        var (raw, receiver) = RawPeer(codec);
        using (receiver)
        {
            Write(raw, Hello(codec, 64), Frame(FrameFormat.KindData, BitConverter.GetBytes(7)));
            raw.Dispose(); // the peer dies without a close frame
            Assert.Equal((7, true), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Equal((0, false), await receiver.Channel.ReceiveOkAsync().Within());
            var lost = Assert.IsType<PeerLostException>(receiver.Error);
            Assert.Contains("without a close frame", lost.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_frame_cut_short_by_the_end_is_dropped_and_named_in_PeerLost()
    {
        var codec = IpcCodec.Unmanaged<long>();
        var (raw, receiver) = RawPeer(codec);
        using (receiver)
        {
            Write(raw, Hello(codec, 64), Frame(FrameFormat.KindData, BitConverter.GetBytes(1L)), Frame(FrameFormat.KindData, BitConverter.GetBytes(2L))[..9]);
            raw.Dispose();
            Assert.Equal((1L, true), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Equal((0L, false), await receiver.Channel.ReceiveOkAsync().Within());
            var lost = Assert.IsType<PeerLostException>(receiver.Error);
            Assert.Contains("The last 9 bytes were the start of a frame that never completed", lost.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_frame_over_the_maximum_closes_the_receiver_with_a_protocol_error_naming_both_sizes()
    {
        var codec = IpcCodec.Unmanaged<int>();
        var (raw, receiver) = RawPeer(codec, maxFrame: 64);
        using (raw)
        using (receiver)
        {
            Write(raw, Hello(codec, 64), Frame(FrameFormat.KindData, BitConverter.GetBytes(5)), Frame(FrameFormat.KindData, [], declared: 1_000_000_000));
            Assert.Equal((5, true), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Equal((0, false), await receiver.Channel.ReceiveOkAsync().Within());
            var e = Assert.IsType<IpcProtocolException>(receiver.Error);
            Assert.Contains("declares 1000000000 bytes", e.Message, StringComparison.Ordinal);
            Assert.Contains("maximum frame size is 64", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_codec_mismatch_in_the_hello_names_both_sides()
    {
        var (raw, receiver) = RawPeer(IpcCodec.Unmanaged<long>());
        using (raw)
        using (receiver)
        {
            Write(raw, Hello(IpcCodec.Unmanaged<int>(), 64));
            Assert.Equal((0L, false), await receiver.Channel.ReceiveOkAsync().Within());
            var e = Assert.IsType<IpcProtocolException>(receiver.Error);
            Assert.Contains("another codec", e.Message, StringComparison.Ordinal);
            Assert.Contains("Unmanaged<Int64>", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unknown_frame_kind_and_a_bad_payload_are_protocol_errors()
    {
        var codec = IpcCodec.Unmanaged<int>();
        var (raw, receiver) = RawPeer(codec);
        using (raw)
        using (receiver)
        {
            Write(raw, Hello(codec, 64), Frame(9, []));
            Assert.Equal((0, false), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.Contains("has kind 9", Assert.IsType<IpcProtocolException>(receiver.Error).Message, StringComparison.Ordinal);
        }
        var (raw2, receiver2) = RawPeer(codec);
        using (raw2)
        using (receiver2)
        {
            Write(raw2, Hello(codec, 64), Frame(FrameFormat.KindData, [1, 2, 3]));
            Assert.Equal((0, false), await receiver2.Channel.ReceiveOkAsync().Within());
            Assert.Contains("this frame had 3", Assert.IsType<IpcProtocolException>(receiver2.Error).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_send_to_a_pipe_whose_reader_is_gone_fails_and_says_PeerLost()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        receiver.Dispose();
        using (sender)
        {
            await Assert.ThrowsAsync<ChannelClosedException>(() => sender.Channel.SendAsync(1).AsTask()).Within();
            Assert.IsType<PeerLostException>(sender.Error);
            Assert.True(sender.Channel.IsClosed);
        }
    }

    [Fact]
    public async Task A_value_too_large_closes_the_sender_and_the_peer_gets_the_error_frame()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Bytes(maxLength: 16), maxFrameSize: 16);
        using (sender)
        using (receiver)
        {
            await sender.Channel.SendAsync([1, 2]).Within();
            await Assert.ThrowsAsync<ChannelClosedException>(() => sender.Channel.SendAsync(new byte[17]).AsTask()).Within();
            Assert.Contains("A value of 17 bytes cannot be sent", Assert.IsType<ArgumentException>(sender.Error).Message, StringComparison.Ordinal);
            var (first, ok) = await receiver.Channel.ReceiveOkAsync().Within();
            Assert.True(ok);
            Assert.Equal([1, 2], first);
            Assert.False((await receiver.Channel.ReceiveOkAsync().Within()).Ok);
            Assert.Contains("A value of 17 bytes cannot be sent", Assert.IsType<IpcProtocolException>(receiver.Error).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_reader_that_stops_reading_applies_back_pressure_and_nothing_is_lost()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (sender)
        using (receiver)
        {
            long sent = 0;
            while (sender.Channel.TrySend(sent))
            {
                sent++;
                Assert.True(sent < 1_000_000, "sends kept completing with nobody reading: no back-pressure");
            }
            // The pipe's buffer (64 KiB by default) and the one-frame outbox hold everything sent; nothing more.
            Assert.True(sent * 13 <= 1024 * 1024 + 13, $"{sent} frames were accepted with nobody reading");
            var reading = Gor.Run(async () =>
            {
                var got = new List<long>();
                for (long i = 0; i < sent + 100; i++) got.Add(await receiver.Channel.ReceiveAsync());
                return got;
            });
            await Gor.Run(async () =>
            {
                for (long i = sent; i < sent + 100; i++) await sender.Channel.SendAsync(i);
            });
            AssertSequence(await reading, (int)sent + 100);
        }
    }

    [Fact]
    public async Task A_select_waits_on_a_pipe_and_a_local_channel_and_every_value_arrives_exactly_once()
    {
        const int N = 3_000;
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        var local = new Chan<long>();
        using (sender)
        using (receiver)
        {
            var fromPipe = new List<long>();
            var fromLocal = new List<long>();
            var consuming = Gor.Run(async () =>
            {
                var sel = new Select();
                var p = sel.Receive(receiver.Channel);
                var l = sel.Receive(local);
                while (p.Channel is not null || l.Channel is not null)
                {
                    int i = await sel.WaitAsync();
                    if (i == 0)
                    {
                        if (p.Ok) fromPipe.Add(p.Value);
                        else p.Channel = null;
                    }
                    else if (l.Ok)
                    {
                        fromLocal.Add(l.Value);
                    }
                    else
                    {
                        l.Channel = null;
                    }
                }
            });
            var pipeSends = Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++) await sender.Channel.SendAsync(i);
                sender.Channel.Close();
            });
            var localSends = Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++) await local.SendAsync(i);
                local.Close();
            });
            await Task.WhenAll(pipeSends, localSends, consuming);
            AssertSequence(fromPipe, N);
            AssertSequence(fromLocal, N);
        }
    }

    /// <summary>Sequences.CancelAtBoundaries over a pipe.</summary>
    private static async Task CancelAtBoundaries(Func<IpcReceiver<long>, CancellationToken, (ValueTask<(long Value, bool Ok)> Op, bool Parked)> start)
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (sender)
        using (receiver)
            await Sequences.CancelAtBoundaries(sender.Channel, receiver.Channel, token => start(receiver, token));
    }

    [Fact]
    public Task Cancelled_receives_lose_nothing() => CancelAtBoundaries(static (r, token) =>
    {
        var op = r.Channel.ReceiveOkAsync(token);
        return (op, !op.IsCompleted);
    });

    [Fact]
    public Task Selects_cancelled_while_parked_on_a_pipe_lose_nothing() => CancelAtBoundaries(static (r, token) =>
    {
        var sel = new Select();
        var p = sel.Receive(r.Channel);
        sel.Receive(new Chan<long>());
        var wait = sel.WaitAsync(token);
        return (Result(wait, p), !wait.IsCompleted);

        static async ValueTask<(long, bool)> Result(ValueTask<int> wait, ReceiveCase<long> p)
        {
            Assert.Equal(0, await wait);
            return (p.Value, p.Ok);
        }
    });

    [Fact]
    public async Task The_System_Threading_Channels_adapters_read_and_write_an_IPC_stream()
    {
        const int N = 2_000;
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (sender)
        using (receiver)
        {
            var reading = Gor.Run(async () =>
            {
                var got = new List<long>();
                await foreach (long v in receiver.Channel.AsChannelReader().ReadAllAsync()) got.Add(v);
                return got;
            });
            await Gor.Run(async () =>
            {
                var w = sender.Channel.AsChannelWriter();
                for (long i = 0; i < N; i++)
                {
                    while (!w.TryWrite(i)) Assert.True(await w.WaitToWriteAsync());
                }
                w.Complete();
            });
            AssertSequence(await reading, N);
        }
    }

    [Fact]
    public async Task A_readiness_wait_moves_the_next_value_into_the_slot_that_Len_counts()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        using (sender)
        using (receiver)
        {
            Assert.Equal(0, receiver.Channel.Len);
            await sender.Channel.SendAsync(5).Within();
            await sender.Channel.SendAsync(6).Within();
            Assert.True(await receiver.Channel.AsChannelReader().WaitToReadAsync().AsTask().Within());
            Assert.Equal(1, receiver.Channel.Len); // taken from the kernel, not yet received
            Assert.Equal(5, await receiver.Channel.ReceiveAsync().Within());
            Assert.Equal(0, receiver.Channel.Len);
            Assert.Equal(6, await receiver.Channel.ReceiveAsync().Within());
        }
    }

    [Fact]
    public async Task A_bubble_refuses_an_IPC_channel()
    {
        await Bubble.Run(() =>
        {
            var e = Assert.Throws<InvalidOperationException>(() => IpcPipe.Create(IpcCodec.Unmanaged<int>()));
            Assert.Contains("cannot be made inside a bubble", e.Message, StringComparison.Ordinal);
            return Task.CompletedTask;
        }).Within();
    }

    [Fact]
    public void Bad_arguments_say_what_is_allowed()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => IpcPipe.Create(IpcCodec.Unmanaged<int>(), maxFrameSize: 0));
        Assert.Contains("from 1 to 16777216", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => IpcPipe.Create<int>(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcCodec.Bytes(-1));
    }

    [Fact]
    public void A_receive_endpoint_refuses_local_sends()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        using (sender)
        using (receiver)
        {
            var sel = new Select();
            var c = sel.Receive(receiver.Channel);
            var e = Assert.Throws<InvalidOperationException>(() => c.Channel!.TrySend(1));
            Assert.Contains("an IPC receive endpoint only by its peer", e.Message, StringComparison.Ordinal);
        }
    }
}
