// StreamConnection — one non-blocking stream descriptor (a pipe end, a connected socket) registered with the
// netpoller, shared by the endpoint(s) that use it: a pipe end has one direction, a socket both. It routes the
// netpoller's readiness to the receive channel's pump and the send channel's pump, and closes the descriptor when
// the last direction is released (after unregistering it: Netpoll.cs says why that order).
//
// Readiness: the descriptor is registered for reads only, and write readiness is added (EPOLL_CTL_MOD, once, ArmWrite)
// the first time the sender has to wait for room, then kept (a stream that filled once tends to fill again, and a
// MOD per wait would cost more than the edges). Why not both from the start: a Unix socket reports write space on
// every frame its peer reads (unix_write_space runs as each of our buffers is freed), so a round trip's request,
// read by the peer, woke this process's blocked poller for nothing, and the edge cost a poll and a context switch
// per round trip. An entry's mask filters wake-ups in the kernel (ep_poll_callback), so a direction left out costs
// nothing. The MOD looks at the descriptor as it changes the mask and queues an edge if there is room already, so
// room made before the first arm is not lost (Netpoll.Watch).
//
// Lock order: a channel's lock, then the sender's outbox gate (StreamSender). The connection itself takes none.

using Weft.Channels;
using Weft.Ipc.Interop;
using Weft.Runtime;

namespace Weft.Ipc.Streams;

internal sealed class StreamConnection : IPollHandler
{
    private readonly FileDescriptor _fd;
    private int _users; // directions not yet released
    private int _watchingWrite; // 1 once write readiness was added to the epoll entry (ArmWrite); never removed

    internal readonly PollDesc Poll;
    internal IChanTransportOwner? Receiver; // set once by the receive endpoint's Attach
    internal StreamSenderBase? Sender;      // set once by the send endpoint's constructor

    /// <summary>Takes ownership of <paramref name="fd"/> (non-blocking) for <paramref name="directions"/> endpoints.</summary>
    internal StreamConnection(FileDescriptor fd, int directions)
    {
        _fd = fd;
        _users = directions;
        Poll = Netpoll.Register(fd.Fd, this, PollInterest.Read);
    }

    internal int Fd => _fd.Fd;

    /// <summary>
    /// Arms the write direction (PollDesc.ArmWrite), adding write readiness to the epoll entry first if this is the
    /// first wait for room. The sender holds its direction, so the descriptor is still open and registered here.
    /// </summary>
    internal bool ArmWrite()
    {
        if (Volatile.Read(ref _watchingWrite) == 0 && Interlocked.Exchange(ref _watchingWrite, 1) == 0)
        {
            Netpoll.Watch(Poll, PollInterest.Both);
        }
        return Poll.ArmWrite();
    }

    public void OnReadable() => Receiver?.OnReceiveReady();

    public void OnWritable() => Sender?.OnWritable();

    /// <summary>One direction is done with the descriptor; the last one unregisters and closes it.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _users) != 0) return;
        Netpoll.Unregister(Poll);
        _fd.Dispose();
    }
}
