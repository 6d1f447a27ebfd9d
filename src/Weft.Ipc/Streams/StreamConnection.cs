// StreamConnection — one non-blocking stream descriptor (a pipe end, a connected socket) registered with the
// netpoller, shared by the endpoint(s) that use it: a pipe end has one direction, a socket both. It routes the
// netpoller's readiness to the receive channel's pump and the send channel's pump, and closes the descriptor when
// the last direction is released (after unregistering it: Netpoll.cs says why that order).
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

    internal readonly PollDesc Poll;
    internal IChanTransportOwner? Receiver; // set once by the receive endpoint's Attach
    internal StreamSenderBase? Sender;      // set once by the send endpoint's constructor

    /// <summary>Takes ownership of <paramref name="fd"/> (non-blocking) for <paramref name="directions"/> endpoints.</summary>
    internal StreamConnection(FileDescriptor fd, int directions)
    {
        _fd = fd;
        _users = directions;
        Poll = Netpoll.Register(fd.Fd, this);
    }

    internal int Fd => _fd.Fd;

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
