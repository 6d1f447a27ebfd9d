// AcceptTransport<T> — a listening socket as a receive endpoint's transport: a "value" is an accepted connection,
// so a listener's Connections is a real Chan<IpcDuplex<T>> and accept is a select case beside local channels,
// timers and other endpoints, with the channel's rules unchanged (take first, then claim: a connection accepted for
// a waiter that was cancelled meanwhile waits in the channel's one slot, never lost).
//
// TryTake is accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) on the non-blocking listening descriptor, registered with the
// netpoller, until the kernel says EAGAIN (only then is NotReady returned, which is what makes the edge-triggered
// poller's next edge certain). Each accepted Unix connection's peer is checked (SocketSetup.CheckPeer); a refused
// one gets a hello and an error frame saying why (so the client sees an IpcProtocolException naming the rule, not a
// bare reset), is closed, and is reported through the listener's callback, and accepting continues. A TCP
// connection gets TCP_NODELAY (one 64-byte frame must not wait for Nagle's timer).
//
// Errors: EINTR and ECONNABORTED (the client gave up before the accept) are retried; any other accept4 failure
// (EMFILE: out of descriptors, ENOMEM), or a failure to set up the accepted socket (SO_PEERCRED, TCP_NODELAY, the
// netpoller's registration), ends the listener with that IpcException: nothing is thrown under the channel's lock. Rejected:
// retrying those silently (with an edge-triggered poller the pending connection would produce no new edge, so the
// listener would hang instead of failing visibly).
//
// Ownership: TryTake runs under the channel's lock; OnChannelClosed runs once after the close, when no TryTake can
// come, and unregisters, closes and (for a Unix socket) unlinks.

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Weft.Channels;
using Weft.Ipc.Framing;
using Weft.Ipc.Interop;
using Weft.Ipc.Streams;
using Weft.Runtime;

namespace Weft.Ipc.Sockets;

internal sealed class AcceptTransport<T> : IReceiveTransport<IpcDuplex<T>>, IPollHandler
{
    private readonly FileDescriptor _fd;
    private readonly PollDesc _poll;
    private readonly IpcCodec<T> _codec;
    private readonly int _maxFrame;
    private readonly string? _unixPath;    // null for TCP
    private readonly string _where;
    private readonly uint _self;
    private readonly IReadOnlyCollection<uint>? _allowed;
    private readonly Func<int, Libc.UCred> _credentials;
    private readonly Action<IpcRefusal> _refused;
    private IChanTransportOwner? _owner;
    private bool _ended;
    private Exception? _error;

    internal AcceptTransport(FileDescriptor listening, IpcCodec<T> codec, IpcSocketOptions options, string? unixPath, string where,
        Func<int, Libc.UCred>? credentials, Action<IpcRefusal> refused)
    {
        _fd = listening;
        _codec = codec;
        _maxFrame = options.MaxFrameSize;
        _unixPath = unixPath;
        _where = where;
        _self = Libc.GetUid();
        _allowed = options.AllowedUids;
        _credentials = credentials ?? SocketSetup.PeerCredentials;
        _refused = refused;
        _poll = Netpoll.Register(listening.Fd, this);
    }

    public Exception? Error => Volatile.Read(ref _error);

    public bool LooksReadable => _poll.LooksReadable;

    public void Attach(IChanTransportOwner owner) => _owner = owner;

    public bool ArmReceive() => _poll.ArmRead();

    public void OnReadable() => _owner?.OnReceiveReady();

    public void OnWritable()
    {
        // A listening socket is never written.
    }

    public unsafe TransportStatus TryTake(out IpcDuplex<T> value)
    {
        value = null!;
        if (_ended) return TransportStatus.Closed;
        while (true)
        {
            int raw = Libc.Accept4(_fd.Fd, null, null, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
            if (raw < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Libc.EINTR or Libc.ECONNABORTED) continue;
                if (errno == Libc.EAGAIN) return TransportStatus.NotReady;
                _ended = true;
                Volatile.Write(ref _error, Errno.Fail("accept4", _where, errno));
                return TransportStatus.Closed;
            }
            var fd = new FileDescriptor(raw);
            try
            {
                if (_unixPath is not null && !Admit(fd)) continue;
                if (_unixPath is null) SocketSetup.SetNoDelay(fd.Fd);
                value = IpcSocket.Duplex(fd, _codec, _maxFrame, _unixPath is null ? "TCP connection" : "Unix socket");
                return TransportStatus.Done;
            }
            catch (Exception ex) when (ex is IOException)
            {
                // getsockopt, setsockopt or the netpoller's epoll_ctl failed for this connection: never thrown under
                // the channel's lock; the listener ends with the error, as for a failed accept4.
                fd.Dispose();
                _ended = true;
                Volatile.Write(ref _error, ex);
                return TransportStatus.Closed;
            }
        }
    }

    /// <summary>Checks the peer's uid; a refused peer is told why, closed and reported, and false is returned.</summary>
    private bool Admit(FileDescriptor fd)
    {
        var cred = _credentials(fd.Fd);
        string? reason = SocketSetup.CheckPeer(cred.Uid, _self, _allowed);
        if (reason is null) return true;
        TellRefused(fd.Fd, "This connection was refused by the listener at " + _unixPath + ": " + reason + ".");
        fd.Dispose();
        _refused(new IpcRefusal(_unixPath!, cred.Pid, cred.Uid, cred.Gid, reason));
        return false;
    }

    /// <summary>Best effort: a hello and an error frame, written once to the new socket (its send buffer is empty, so it fits).</summary>
    private unsafe void TellRefused(int fd, string text)
    {
        byte* frame = stackalloc byte[FrameFormat.HelloSize + FrameFormat.HeaderSize + FrameFormat.MaxErrorText];
        var span = new Span<byte>(frame, FrameFormat.HelloSize + FrameFormat.HeaderSize + FrameFormat.MaxErrorText);
        FrameFormat.WriteHello(span, _codec.Fingerprint, _maxFrame);
        int length = System.Text.Encoding.UTF8.GetBytes(text.AsSpan(0, Math.Min(text.Length, FrameFormat.MaxErrorText / 4)), span[(FrameFormat.HelloSize + FrameFormat.HeaderSize)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FrameFormat.HelloSize..], (uint)length);
        span[FrameFormat.HelloSize + 4] = FrameFormat.KindError;
        _ = Libc.Write(fd, frame, FrameFormat.HelloSize + FrameFormat.HeaderSize + length);
    }

    public void OnChannelClosed()
    {
        Netpoll.Unregister(_poll);
        _fd.Dispose();
        if (_unixPath is not null) _ = Libc.Unlink(_unixPath);
    }
}
