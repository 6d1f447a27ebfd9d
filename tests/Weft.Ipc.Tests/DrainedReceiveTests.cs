using Weft.Ipc.Streams;
using Weft.Tests;
using Weft.Tests.Channels;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// The stream receiver's drained rule (Netpoll.cs, "Drained"; StreamReceiver.cs): a goroutine's parking receive may
/// skip the read(2) that would find EAGAIN only while no read edge was dispatched since the last drain. The case that
/// rule exists for: an arm left by a cancelled receive is fired by the next edge, whose pump finds no waiter and reads
/// nothing; the edge is gone, so a receive that skipped the read then would wait for an edge that never comes.
/// </summary>
public sealed class DrainedReceiveTests
{
    private static StreamReceiver<long> ReceiverOf(IpcReceiver<long> rx) => (StreamReceiver<long>)rx.Channel.Channel!.Transport!;

    private static async Task AnEdgeThatNoWaiterTookIsNotLost(IpcSender<long> tx, IpcReceiver<long> rx)
    {
        var poll = ReceiverOf(rx).Connection.Poll;
        await Gor.Run(async () =>
        {
            await tx.Channel.SendAsync(1);
            Assert.Equal(1, await rx.Channel.ReceiveAsync()); // a short read: drained
        });

        // A receive that parks and arms, then is cancelled: the arm stays, and the waiter is gone.
        using (var cts = new CancellationTokenSource())
        {
            var cancelled = rx.Channel.ReceiveAsync(cts.Token);
            Assert.False(cancelled.IsCompleted);
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled).Within();
        }

        // The next frame's edge fires that arm; its pump finds no waiter and takes nothing.
        int edges = poll.ReadEdges;
        await Gor.Run(async () => await tx.Channel.SendAsync(2));
        Parked.Until(() => poll.ReadEdges != edges, "the frame's read edge is dispatched");

        // A goroutine's receive commits its park: the count moved since the drain, so it must read, and finds the frame.
        Assert.Equal(2, await Gor.Run(async () => await rx.Channel.ReceiveAsync()));
    }

    [Fact]
    public async Task Over_a_pipe_a_parking_receive_reads_after_an_edge_that_no_waiter_took()
    {
        var (tx, rx) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (tx)
        using (rx)
        {
            await AnEdgeThatNoWaiterTookIsNotLost(tx, rx);
        }
    }

    [Fact]
    public async Task Over_a_socket_pair_a_parking_receive_reads_after_an_edge_that_no_waiter_took()
    {
        var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged<long>());
        using (a)
        using (b)
        {
            await AnEdgeThatNoWaiterTookIsNotLost(a.Sender, b.Receiver);
        }
    }

    [Fact]
    public async Task Many_round_trips_with_parking_receives_on_both_sides_lose_no_value()
    {
        // Both goroutines park on every hop, so every receive after the first takes the drained path.
        const int N = 20_000;
        var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged<long>());
        var (tx, rx) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (a)
        using (b)
        using (tx)
        using (rx)
        {
            var echo = Gor.Run(async () =>
            {
                await foreach (long v in b.Receiver.Channel) await tx.Channel.SendAsync(v);
            });
            await Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++)
                {
                    await a.Sender.Channel.SendAsync(i);
                    Assert.Equal(i, await rx.Channel.ReceiveAsync());
                }
                a.Sender.Channel.Close();
            });
            await echo;
        }
    }
}
