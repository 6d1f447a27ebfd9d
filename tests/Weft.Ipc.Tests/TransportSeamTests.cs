using Weft.Channels;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>The seam rule of IChanTransport.cs, "a put after a successful flush must not fail", for every send transport.</summary>
public class TransportSeamTests
{
    /// <summary>The endpoint's transport (IpcSender keeps its Chan private; the seam is internal to Weft).</summary>
    private static IChanTransport<long> TransportOf(IpcSender<long> sender) =>
        ((Chan<long>)typeof(IpcSender<long>).GetField("_channel", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(sender)!).Transport!;

    /// <summary>
    /// Fills the kernel's buffer through the transport alone (nobody reads): every put that follows a Done flush says
    /// Done, up to and past the point where the kernel is full and the last frame waits in the outbox; then the flush
    /// says NotReady, and a put without a successful flush may say NotReady too, taking nothing.
    /// </summary>
    private static void FillThroughTheTransport(IChanTransport<long> t, int atLeast)
    {
        int puts = 0;
        while (true)
        {
            var flush = t.TryFlush();
            Assert.NotEqual(TransportStatus.Closed, flush);
            if (flush == TransportStatus.NotReady) break;
            var put = t.TryPut(puts);
            Assert.True(put == TransportStatus.Done, $"put {puts}, right after a flush that said Done, said {put}: the seam rule is broken");
            puts++;
            Assert.True(puts < 10_000_000, "the kernel never filled up");
        }
        Assert.True(puts >= atLeast, $"only {puts} puts before the kernel was full");
        Assert.Equal(TransportStatus.NotReady, t.TryPut(-1)); // the outbox holds the last frame: nothing taken
    }

    [Fact]
    public void A_pipe_sender_keeps_the_seam_rule()
    {
        var (tx, rx) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (tx)
        using (rx)
        {
            FillThroughTheTransport(TransportOf(tx), atLeast: 2);
        }
    }

    [Fact]
    public void A_socket_sender_keeps_the_seam_rule()
    {
        var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged<long>());
        using (a)
        using (b)
        {
            FillThroughTheTransport(TransportOf(a.Sender), atLeast: 2);
        }
    }

    [Fact]
    public void A_message_queue_sender_keeps_the_seam_rule()
    {
        string name = $"/weft-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using var receiver = IpcMessageQueue.CreateReceiver(name, IpcCodec.Unmanaged<long>(), capacity: 4, maxMessageSize: 8);
        using var sender = IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<long>());
        FillThroughTheTransport(TransportOf(sender), atLeast: 4);
    }
}
