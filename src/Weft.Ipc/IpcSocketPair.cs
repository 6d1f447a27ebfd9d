// IpcSocketPair — a connected pair of Unix stream sockets (socketpair) as two duplex endpoints. Both sockets are made
// SOCK_NONBLOCK | SOCK_CLOEXEC in the one call. Each direction carries its own hello and frames, independently.

using Weft.Ipc.Framing;
using Weft.Ipc.Interop;

namespace Weft.Ipc;

/// <summary>Connected pairs of Unix stream sockets as two-way channel endpoints.</summary>
/// <example><code>
/// var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged&lt;int&gt;());
/// await a.Sender.Channel.SendAsync(1);
/// await b.Sender.Channel.SendAsync(await b.Receiver.Channel.ReceiveAsync() + 1);
/// int two = await a.Receiver.Channel.ReceiveAsync();
/// </code></example>
public static class IpcSocketPair
{
    /// <summary>Creates a connected pair of Unix stream sockets, each end a sender and a receiver of framed values.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="codec">How values become bytes (<see cref="IpcCodec"/>).</param>
    /// <param name="maxFrameSize">The largest payload of one frame, in bytes: 1 to 16 MiB.</param>
    /// <returns>The two ends. Dispose both.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="IpcException">socketpair failed; the message names the call and the error.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Making the pair cannot be cancelled (it does not wait).</remarks>
    /// <example><code>var (a, b) = IpcSocketPair.Create(IpcCodec.Bytes(), maxFrameSize: 64 * 1024);</code></example>
    public static unsafe (IpcDuplex<T> First, IpcDuplex<T> Second) Create<T>(IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        FrameFormat.CheckMaxFrameSize(maxFrameSize, nameof(maxFrameSize));
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft.Ipc sockets need Linux (socketpair and epoll).");
        int* fds = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0, fds) != 0) throw Errno.Fail("socketpair");
        return (IpcSocket.Duplex(new FileDescriptor(fds[0]), codec, maxFrameSize, "Unix socket"),
            IpcSocket.Duplex(new FileDescriptor(fds[1]), codec, maxFrameSize, "Unix socket"));
    }
}
