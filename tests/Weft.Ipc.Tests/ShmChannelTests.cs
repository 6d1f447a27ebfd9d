using Weft.Ipc.SharedMemory;
using Weft.Tests;
using Xunit;
using static Weft.Ipc.Tests.Sequences;

namespace Weft.Ipc.Tests;

/// <summary>
/// The shared-memory channel (IpcSharedMemory) against the channel contract, in one process: two or more
/// attachments of one ring stand in for processes (each is its own participant, with its own descriptor, lock and
/// doorbell). ShmCrossProcessTests runs the same rules across real processes, and kills them.
/// </summary>
[Collection("shm")]
public sealed class ShmChannelTests : IDisposable
{
    private readonly string _name = "weft-test-" + Guid.NewGuid().ToString("N");

    public void Dispose() => IpcSharedMemory.TryRemoveStale(_name);

    [Fact]
    public async Task Values_cross_in_order_none_lost_or_duplicated_and_close_ends_the_stream_after_the_drain()
    {
        const int N = 20_000;
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 8);
        using var b = IpcSharedMemory.Open<long>(_name);
        var reading = Gor.Run(() => Drain(b.Receiver));
        await Gor.Run(() => SendAll(a.Sender, N));
        AssertSequence(await reading, N);
        Assert.True(b.Receiver.IsClosed);
        Assert.Null(a.Error);
        Assert.Null(b.Error);
    }

    [Fact]
    public async Task Values_sent_before_the_close_are_received_after_it_then_ok_is_false()
    {
        using var a = IpcSharedMemory.Create<int>(_name, capacity: 4);
        using var b = IpcSharedMemory.Open<int>(_name);
        await a.Sender.SendAsync(1).Within();
        await a.Sender.SendAsync(2).Within();
        a.Sender.Close(); // Go's close, for every attachment
        Assert.Equal((1, true), await b.Receiver.ReceiveOkAsync().Within());
        Assert.Equal((2, true), await b.Receiver.ReceiveOkAsync().Within());
        Assert.Equal((0, false), await b.Receiver.ReceiveOkAsync().Within());
        Assert.Equal((0, false), await a.Receiver.ReceiveOkAsync().Within());
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await b.Sender.SendAsync(3));
    }

    [Fact]
    public Task Many_writers_and_readers_over_three_attachments_receive_every_value_exactly_once_in_each_writers_order() =>
        ManyWritersAndReaders(_name, capacity: 16, perWriter: 5_000);

    /// <summary>
    /// The same, over many short rounds on tiny rings, where the ring turns full and empty on nearly every message, so
    /// every attachment's one doorbell serves a parked reader and a parked writer at once: a wake-up lost between the
    /// two directions of one doorbell (or between a drain and a new park) hangs a round. More rounds under WEFT_STRESS.
    /// </summary>
    [Fact]
    public async Task Rounds_on_rings_of_two_to_eight_slots_lose_no_wake_up_between_a_doorbells_two_directions()
    {
        int rounds = Environment.GetEnvironmentVariable("WEFT_STRESS") is null ? 200 : 2_000;
        for (int round = 0; round < rounds; round++)
        {
            string name = $"{_name}-{round}";
            try
            {
                await ManyWritersAndReaders(name, capacity: 2 << (round % 3), perWriter: 400);
            }
            finally
            {
                IpcSharedMemory.TryRemoveStale(name);
            }
        }
    }

    /// <summary>4 writers and 3 readers spread over three attachments (each with a reader and a writer or two).</summary>
    private static async Task ManyWritersAndReaders(string name, int capacity, int perWriter)
    {
        const int Writers = 4, Readers = 3;
        using var a = IpcSharedMemory.Create<(long, long)>(name, capacity);
        using var b = IpcSharedMemory.Open<(long, long)>(name);
        using var c = IpcSharedMemory.Open<(long, long)>(name);
        IpcSharedMemory<(long, long)>[] at = [a, b, c];
        var seen = new int[Writers * perWriter];
        long progress = 0;
        var readers = new List<Task>();
        for (int r = 0; r < Readers; r++)
        {
            var ring = at[r % 3];
            readers.Add(Gor.Run(async () =>
            {
                var last = new long[Writers];
                Array.Fill(last, -1);
                while (true)
                {
                    var ((w, s), ok) = await ring.Receiver.ReceiveOkAsync();
                    if (!ok) return;
                    Assert.True(s > last[w], $"writer {w}'s value {s} came after {last[w]} to one reader");
                    last[w] = s;
                    Interlocked.Increment(ref seen[w * perWriter + s]);
                    Interlocked.Increment(ref progress);
                }
            }));
        }
        var writers = new List<Task>();
        for (int w = 0; w < Writers; w++)
        {
            long id = w;
            var ring = at[(w + 1) % 3];
            writers.Add(Gor.Run(async () =>
            {
                for (long s = 0; s < perWriter; s++)
                {
                    await ring.Sender.SendAsync((id, s));
                    Interlocked.Increment(ref progress);
                }
            }));
        }
        string Where() => $"capacity {capacity}, {Volatile.Read(ref progress)} sends and receives; a: {a.Describe()}\nb: {b.Describe()}\nc: {c.Describe()}";
        await Task.WhenAll(writers).WithinProgress(() => Volatile.Read(ref progress), Where, TestTimeout.Default / 2);
        b.Sender.Close();
        await Task.WhenAll(readers).WithinProgress(() => Volatile.Read(ref progress), Where, TestTimeout.Default / 2);
        for (int i = 0; i < seen.Length; i++) Assert.True(seen[i] == 1, $"value {i % perWriter} of writer {i / perWriter} arrived {seen[i]} times");
    }

    [Fact]
    public async Task A_select_waits_on_the_ring_a_local_channel_and_a_timer_and_every_value_arrives_exactly_once()
    {
        const int N = 3_000;
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 4);
        using var b = IpcSharedMemory.Open<long>(_name);
        var local = new Chan<long>();
        var fromRing = new List<long>();
        var fromLocal = new List<long>();
        var consuming = Gor.Run(async () =>
        {
            var sel = new Select();
            var p = sel.Receive(b.Receiver);
            var l = sel.Receive(local);
            var t = sel.Receive(Go.After(TimeSpan.FromMinutes(10)));
            while (p.Channel is not null || l.Channel is not null)
            {
                int i = await sel.WaitAsync();
                Assert.NotEqual(2, i);
                if (i == 0)
                {
                    if (p.Ok) fromRing.Add(p.Value);
                    else p.Channel = null;
                }
                else if (l.Ok) fromLocal.Add(l.Value);
                else l.Channel = null;
            }
        });
        var ringSends = Gor.Run(() => SendAll(a.Sender, N));
        var localSends = Gor.Run(() => SendAll(local, N));
        await Task.WhenAll(ringSends, localSends, consuming);
        AssertSequence(fromRing, N);
        AssertSequence(fromLocal, N);
    }

    [Fact]
    public async Task A_select_sends_to_a_full_ring_or_times_out_and_the_timed_out_send_puts_nothing()
    {
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 2);
        using var b = IpcSharedMemory.Open<long>(_name);
        await a.Sender.SendAsync(1).Within();
        await a.Sender.SendAsync(2).Within();
        int chosen = await Gor.Run(async () =>
        {
            var sel = new Select();
            sel.Send(a.Sender, 3);
            sel.Receive(Go.After(TimeSpan.FromMilliseconds(50)));
            return await sel.WaitAsync();
        });
        Assert.Equal(1, chosen); // the ring stayed full: the timer won
        Assert.Equal(2, a.Count);
        Assert.Equal(1, await b.Receiver.ReceiveAsync().Within());
        Assert.Equal(2, await b.Receiver.ReceiveAsync().Within());
        Assert.True(b.Receiver.TryReceive(out _) is false);
    }

    /// <summary>Sequences.CancelAtBoundaries over a ring: one attachment sends, another receives.</summary>
    private async Task CancelAtBoundaries(Func<IpcSharedMemory<long>, CancellationToken, (ValueTask<(long Value, bool Ok)> Op, bool Parked)> start)
    {
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 64);
        using var b = IpcSharedMemory.Open<long>(_name);
        await Sequences.CancelAtBoundaries(a.Sender, b.Receiver, token => start(b, token));
    }

    [Fact]
    public Task Cancelled_receives_lose_nothing() => CancelAtBoundaries(static (r, token) =>
    {
        var op = r.Receiver.ReceiveOkAsync(token);
        return (op, !op.IsCompleted);
    });

    [Fact]
    public Task Selects_cancelled_while_parked_on_the_ring_lose_nothing() => CancelAtBoundaries(static (r, token) =>
    {
        var sel = new Select();
        var p = sel.Receive(r.Receiver);
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
    public async Task Cancelled_sends_on_a_full_ring_deliver_nothing()
    {
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 2);
        using var b = IpcSharedMemory.Open<long>(_name);
        await a.Sender.SendAsync(0).Within();
        await a.Sender.SendAsync(1).Within();
        for (int i = 0; i < 20; i++)
        {
            using var cts = new CancellationTokenSource();
            var op = Gor.Run(async () => { await a.Sender.SendAsync(100 + i, cts.Token); });
            cts.CancelAfter(i % 2 == 0 ? 0 : 5);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => op);
        }
        Assert.Equal(2, a.Count);
        a.Sender.Close();
        AssertSequence(await Gor.Run(() => Drain(b.Receiver)), 2);
    }

    [Fact]
    public async Task A_readiness_wait_moves_the_next_value_into_the_slot_that_Len_counts()
    {
        using var a = IpcSharedMemory.Create<int>(_name, capacity: 4);
        using var b = IpcSharedMemory.Open<int>(_name);
        Assert.Equal(0, b.Receiver.Len);
        await a.Sender.SendAsync(5).Within();
        await a.Sender.SendAsync(6).Within();
        Assert.Equal(2, b.Count);
        Assert.True(await b.Receiver.AsChannelReader().WaitToReadAsync().AsTask().Within());
        Assert.Equal(1, b.Receiver.Len); // taken from the ring, not yet received
        Assert.Equal(1, b.Count);
        Assert.Equal(5, await b.Receiver.ReceiveAsync().Within());
        Assert.Equal(0, b.Receiver.Len);
        Assert.Equal(6, await b.Receiver.ReceiveAsync().Within());
    }

    [Fact]
    public async Task Threads_and_goroutines_share_one_ring()
    {
        const int N = 5_000;
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 8);
        using var b = IpcSharedMemory.Open<long>(_name);
        var reading = Gor.Run(() => Drain(b.Receiver));
        var thread = new Thread(() =>
        {
            for (long i = 0; i < N; i++) a.Sender.Send(i); // a thread blocks in the channel's own wait
            a.Sender.Close();
        });
        thread.Start();
        Assert.True(thread.Join(TestTimeout.Default), "the sending thread hung");
        AssertSequence(await reading, N);
    }

    [Fact]
    public async Task Bytes_keep_their_length_and_a_value_over_the_maximum_closes_only_that_sender()
    {
        using var a = IpcSharedMemory.Create(_name, IpcCodec.Bytes(16), capacity: 4, maxMessageSize: 16);
        using var b = IpcSharedMemory.Open(_name, IpcCodec.Bytes(16));
        await a.Sender.SendAsync([]).Within();
        await a.Sender.SendAsync([1, 2, 3]).Within();
        await a.Sender.SendAsync(new byte[16]).Within();
        Assert.Empty((await b.Receiver.ReceiveAsync().Within())!);
        Assert.Equal([1, 2, 3], await b.Receiver.ReceiveAsync().Within());
        Assert.Equal(16, (await b.Receiver.ReceiveAsync().Within())!.Length);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await a.Sender.SendAsync(new byte[17]));
        var e = Assert.IsType<ArgumentException>(a.Error);
        Assert.Contains("17 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("at most 16", e.Message, StringComparison.Ordinal);
        await b.Sender.SendAsync([9]).Within(); // the ring itself stays open for the others
        Assert.Equal([9], await a.Receiver.ReceiveAsync().Within());
    }

    [Fact]
    public void Attach_mismatches_each_name_both_values()
    {
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 8);
        var e = Assert.Throws<InvalidDataException>(() => IpcSharedMemory.Open<int>(_name));
        Assert.Contains("fingerprint", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidDataException>(() => IpcSharedMemory.Open(_name, IpcCodec.Bytes(8)));
        Assert.Contains("fingerprint", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidDataException>(() => ShmRing.Open(_name, IpcCodec.Unmanaged<long>().Fingerprint, capacity: 16));
        Assert.Contains("holds 8 messages; this side expects 16", e.Message, StringComparison.Ordinal);
        var io = Assert.Throws<IpcException>(() => IpcSharedMemory.Create<long>(_name, 8));
        Assert.Equal(Interop.Libc.EEXIST, io.Errno);
        Assert.Throws<IpcException>(() => IpcSharedMemory.Open<long>("weft-test-missing-" + Guid.NewGuid().ToString("N")));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcSharedMemory.Create<long>(_name + "x", 3));
        Assert.Throws<ArgumentNullException>(() => IpcSharedMemory.Create<long>(_name + "y", null!, 4, 4));
    }

    [Fact]
    public async Task Dispose_detaches_without_closing_the_ring_for_the_others()
    {
        using var a = IpcSharedMemory.Create<int>(_name, capacity: 4);
        var b = IpcSharedMemory.Open<int>(_name);
        await b.Sender.SendAsync(7).Within();
        b.Dispose();
        Assert.Equal((0, false), await b.Receiver.ReceiveOkAsync().Within()); // b's own channels are closed
        Assert.Equal(7, await a.Receiver.ReceiveAsync().Within());
        using var c = IpcSharedMemory.Open<int>(_name); // b's record is free again
        await c.Sender.SendAsync(8).Within();
        Assert.Equal(8, await a.Receiver.ReceiveAsync().Within());
    }

    [Fact]
    public async Task An_uncontended_send_rings_no_doorbell()
    {
        using var a = IpcSharedMemory.Create<long>(_name, capacity: 1024);
        using var b = IpcSharedMemory.Open<long>(_name);
        long before = ShmDoorbell.Rings;
        for (long i = 0; i < 1000; i++) Assert.True(a.Sender.TrySend(i));
        Assert.Equal(before, ShmDoorbell.Rings); // nobody parked: no system call on the send path
        var got = Gor.Run(async () => await b.Receiver.ReceiveAsync());
        Assert.Equal(0, await got);
        // A parked receiver is rung exactly when a value comes.
        for (long i = 1; i < 1000; i++) Assert.Equal(i, await b.Receiver.ReceiveAsync().Within());
        var parked = Gor.Run(async () => await b.Receiver.ReceiveAsync());
        await Task.Delay(50);
        a.Sender.TrySend(5000);
        Assert.Equal(5000, await parked);
        Assert.True(ShmDoorbell.Rings > before, "the parked receiver was not rung");
    }

    [Fact]
    public void A_parked_reader_is_rung_once_per_park_however_many_commits_come_before_its_handler_runs()
    {
        using var writer = ShmRing.Create(_name, capacity: 64, maxMessage: 8, fingerprint: 1);
        using var reader = ShmRing.Open(_name, fingerprint: 1);
        // The doorbell's handler (OnRing) is left unset, so nothing clears the park: every commit below comes while the
        // reader's poller would still be waking.
        ParkUntilArmed(reader);
        long before = ShmDoorbell.Rings;
        var m = new byte[8];
        for (int i = 0; i < 10; i++) Assert.True(writer.TryWrite(m));
        Assert.Equal(before + 1, ShmDoorbell.Rings);
        // What the handler does: clear the park. The next park gets its own ring.
        reader.UnparkAll();
        var buffer = new byte[8];
        for (int i = 0; i < 10; i++) Assert.True(reader.TryRead(buffer, out _, out _));
        ParkUntilArmed(reader);
        Assert.True(writer.TryWrite(m));
        Assert.Equal(before + 2, ShmDoorbell.Rings);
        // A wake for a death, a close or a cancellation rings even a park whose one ring was taken: the taker may be
        // the participant that died before sending it.
        writer.WakeAll();
        Assert.Equal(before + 3, ShmDoorbell.Rings);
        reader.UnparkAll();

        static void ParkUntilArmed(ShmRing r)
        {
            // False only while an earlier ring is still pending on the doorbell (Park drains it); bounded by those.
            for (int tries = 0; !r.Park(ShmRing.ParkedData); tries++) Assert.True(tries < 100, "the doorbell never armed");
        }
    }

    [Fact]
    public void A_newcomer_wakes_every_parked_participant_once_so_that_it_parks_again_watching_the_newcomer()
    {
        using var first = ShmRing.Create(_name, capacity: 4, maxMessage: 8, fingerprint: 1);
        for (int tries = 0; !first.Park(ShmRing.ParkedData); tries++) Assert.True(tries < 100, "the doorbell never armed");
        long before = ShmDoorbell.Rings;
        using var newcomer = ShmRing.Open(_name, fingerprint: 1);
        Assert.Equal(before + 1, ShmDoorbell.Rings);
        first.UnparkAll();
    }

    [Fact]
    public unsafe void A_dead_writers_claim_is_tombstoned_and_a_dead_readers_take_is_freed()
    {
        using var live = ShmRing.Create(_name, capacity: 2, maxMessage: 8, fingerprint: 1);
        var dying = ShmRing.Open(_name, fingerprint: 1);
        // The dying participant claims a slot and takes another, then "dies": its descriptor closes, which is what
        // the kernel does at kill -9 (the record still says attached, the slot words still name it).
        Assert.True(live.TryWrite([1]));
        Assert.Equal(ShmRing.Take.Taken, dying.TryTake(out _, out _, out _, out _, out _));
        Assert.Equal(ShmRing.Claim.Claimed, dying.TryClaim(out _, out _, out _, out _));
        Assert.False(live.TryWrite([2])); // the ring is full: one slot taken, one claimed, both by a live participant
        var buffer = new byte[8];
        Assert.False(live.TryRead(buffer, out _, out _)); // the claim's owner is alive: wait for it
        dying.SimulateDeath();
        Assert.True(live.TryWrite([3])); // the taken slot was freed
        Assert.True(live.TryRead(buffer, out int n, out _)); // the claim was tombstoned and skipped
        Assert.Equal([3], buffer[..n]);
        Assert.False(live.TryRead(buffer, out _, out bool closed));
        Assert.False(closed);
        live.Close();
        Assert.False(live.TryRead(buffer, out _, out closed));
        Assert.True(closed);
    }
}
