using Weft.Ipc.Framing;
using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

public class StressTests
{
    [Fact]
    public async Task Several_senders_and_receivers_on_one_pipe_get_every_value_exactly_once_in_each_senders_order()
    {
        const int Senders = 4, Receivers = 4, PerSender = 2_000;
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (sender)
        using (receiver)
        {
            var readers = new Task<List<long>>[Receivers];
            for (int r = 0; r < Receivers; r++)
            {
                readers[r] = Gor.Run(async () =>
                {
                    var got = new List<long>();
                    while (true)
                    {
                        var (v, ok) = await receiver.Channel.ReceiveOkAsync();
                        if (!ok) return got;
                        got.Add(v);
                    }
                });
            }
            var writers = new Task[Senders];
            for (int s = 0; s < Senders; s++)
            {
                long id = s;
                writers[s] = Gor.Run(async () =>
                {
                    for (long i = 0; i < PerSender; i++) await sender.Channel.SendAsync((id << 32) | i);
                });
            }
            await Task.WhenAll(writers);
            sender.Channel.Close();
            var all = new HashSet<long>();
            foreach (var reader in readers)
            {
                var got = await reader;
                var last = new long[Senders];
                Array.Fill(last, -1);
                foreach (long v in got)
                {
                    Assert.True(all.Add(v), $"value {v:X} was received twice");
                    int s = (int)(v >> 32);
                    long seq = v & 0xFFFFFFFF;
                    Assert.True(seq > last[s], $"sender {s}'s values reached one receiver out of order ({seq} after {last[s]})");
                    last[s] = seq;
                }
            }
            Assert.Equal(Senders * PerSender, all.Count);
        }
    }

    [Fact]
    public void The_blocking_forms_work_from_plain_threads()
    {
        const int N = 3_000;
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        using (sender)
        using (receiver)
        {
            var got = new List<int>();
            var reader = new Thread(() =>
            {
                while (true)
                {
                    int v = receiver.Channel.Receive(out bool ok);
                    if (!ok) return;
                    got.Add(v);
                }
            });
            var writer = new Thread(() =>
            {
                for (int i = 0; i < N; i++) sender.Channel.Send(i);
                sender.Channel.Close();
            });
            reader.Start();
            writer.Start();
            Assert.True(writer.Join(TestTimeout.Default) && reader.Join(TestTimeout.Default), "a blocking send or receive hung");
            Sequences.AssertSequence(got.ConvertAll(v => (long)v), N);
        }
    }

    [Fact]
    public async Task A_select_sends_on_a_pipe_beside_a_local_receive()
    {
        const int N = 3_000;
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        var quit = new Chan<int>();
        using (sender)
        using (receiver)
        {
            var reading = Gor.Run(async () =>
            {
                var got = new List<long>();
                for (int i = 0; i < N; i++) got.Add(await receiver.Channel.ReceiveAsync());
                quit.Close();
                return got;
            });
            long sent = await Gor.Run(async () =>
            {
                long next = 0;
                while (true)
                {
                    var sel = new Select();
                    sel.Send(sender.Channel, next);
                    sel.Receive(quit);
                    if (await sel.WaitAsync() == 1) return next;
                    next++;
                }
            });
            var got = await reading;
            Sequences.AssertSequence(got, N);
            // Sends the reader never took are in the kernel: exactly sent - N of them, in order, none lost.
            for (long i = N; i < sent; i++) Assert.Equal(i, await receiver.Channel.ReceiveAsync().Within());
            Assert.False(receiver.Channel.TryReceive(out _));
        }
    }
}

/// <summary>
/// The frame fuzz runs alone: it bounds what stays reachable after a million endpoints by the process's whole heap
/// (GC.GetTotalMemory), and test classes running beside it held tens of megabytes of their own in that window under
/// WEFT_STRESS.
/// </summary>
[Collection(nameof(Alone))]
public class FrameStressTests
{
    /// <summary>
    /// Random streams of frames (valid, unknown kinds, wrong sizes, lengths over the maximum, close frames), cut at a
    /// random byte: the receiver yields exactly the data frames a reference reading of the rules allows, then closes
    /// with the error the close rule (Framing/FrameFormat.cs) names. No crash, no hang, no value made up.
    /// </summary>
    [Fact]
    public async Task Random_truncated_and_oversized_frames_give_the_valid_prefix_and_a_clear_error()
    {
        int iterations = Environment.GetEnvironmentVariable("WEFT_STRESS") is null ? 100_000 : 1_000_000;
        var codec = IpcCodec.Unmanaged<int>();
        var rng = new Random(16);
        long heldBefore = 0, allocatedBefore = 0;
        for (int it = 0; it < iterations; it++)
        {
            if (it == 1_000)
            {
                // Bounded memory: measured from here, after the first endpoints warmed the pools up.
                heldBefore = GC.GetTotalMemory(forceFullCollection: true);
                allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            }
            var stream = new List<byte>();
            var expected = new List<int>();
            Type? expectedError = typeof(PeerLostException);
            bool badHello = rng.Next(20) == 0;
            var hello = PipeChannelTests.Hello(codec, 64);
            if (badHello) hello[rng.Next(4)] ^= 0xFF;
            stream.AddRange(hello);
            var ends = new List<(int End, int HeaderEnd, Type? Error, int Value, bool Data)>();
            int frames = rng.Next(12);
            for (int f = 0; f < frames; f++)
            {
                int choice = rng.Next(20);
                int start = stream.Count;
                if (choice < 14)
                {
                    int v = rng.Next();
                    stream.AddRange(PipeChannelTests.Frame(FrameFormat.KindData, BitConverter.GetBytes(v)));
                    ends.Add((stream.Count, start + 5, null, v, true));
                    continue;
                }
                if (choice == 14) stream.AddRange(PipeChannelTests.Frame(FrameFormat.KindClose, []));
                else if (choice == 15) stream.AddRange(PipeChannelTests.Frame((byte)rng.Next(3, 256), new byte[rng.Next(8)]));
                else if (choice == 16) stream.AddRange(PipeChannelTests.Frame(FrameFormat.KindData, new byte[rng.Next(5, 40)]));
                else stream.AddRange(PipeChannelTests.Frame(FrameFormat.KindData, [], declared: (uint)rng.Next(65, int.MaxValue)));
                var error = choice == 14 ? null : typeof(IpcProtocolException);
                ends.Add((stream.Count, start + 5, error, 0, false));
                for (int g = rng.Next(16); g > 0; g--) stream.Add((byte)rng.Next(256)); // garbage after the end is never read
                break;
            }
            int cut = rng.Next(4) == 0 ? rng.Next(stream.Count + 1) : stream.Count;

            // The reference reading.
            if (cut < FrameFormat.HelloSize) expectedError = typeof(PeerLostException);
            else if (badHello) expectedError = typeof(IpcProtocolException);
            else
            {
                foreach (var (end, headerEnd, error, value, data) in ends)
                {
                    bool overMax = !data && error is not null && end == headerEnd; // declared length only: caught at the header
                    if (overMax && cut >= headerEnd)
                    {
                        expectedError = error;
                        break;
                    }
                    if (cut < end)
                    {
                        expectedError = typeof(PeerLostException);
                        break;
                    }
                    if (data)
                    {
                        expected.Add(value);
                        continue;
                    }
                    expectedError = error;
                    break;
                }
            }

            var (peer, receiver) = PipeChannelTests.RawPeer(codec, maxFrame: 64);
            using (receiver)
            {
                using (peer) PipeChannelTests.Write(peer, stream.GetRange(0, cut).ToArray());
                var got = new List<int>();
                while (true)
                {
                    var (v, ok) = await receiver.Channel.ReceiveOkAsync().Within();
                    if (!ok) break;
                    got.Add(v);
                }
                Assert.Equal(expected, got);
                Assert.Equal(expectedError, receiver.Error?.GetType());
            }
        }

        // No endpoint outlives its iteration, and no declared length (up to 2 GiB) was ever allocated: every
        // iteration's allocations, test scaffolding included, stay far below one such buffer.
        long held = GC.GetTotalMemory(forceFullCollection: true) - heldBefore;
        long perIteration = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (iterations - 1_000);
        Assert.True(held < 16 << 20, $"{held} bytes still held after {iterations} endpoints");
        Assert.True(perIteration < 64 << 10, $"{perIteration} bytes allocated per endpoint");
    }
}
