// IpcSocket — Unix domain socket and TCP listeners and connects whose connections are channel endpoints.
//
// What: ListenUnix / ListenTcp return an IpcListener<T> whose Connections channel yields each accepted connection
// as an IpcDuplex<T> (a sender and a receiver over one socket, the same stream framing as pipes and socket pairs:
// Framing/FrameFormat.cs). ConnectUnixAsync / ConnectTcpAsync return the client's IpcDuplex<T>. One API for both
// kinds: a program moves between a local Unix socket and TCP by changing the call, not the code around it.
//
// Why this shape: Go's net.Listener.Accept is a blocking call, so a Go server that also waits for a shutdown
// signal or a timer runs the accept loop in a goroutine of its own and forwards. Here the accepted connections are
// a channel (AcceptTransport.cs), so a select waits for "a new client, a message, or the deadline" directly.
//
// Setup only uses libc (socket, bind, listen, connect, getsockopt), never System.Net.Sockets.Socket: a Socket's
// async methods register the descriptor with .NET's own epoll engine (two thread hops per message before a
// goroutine runs), and taking a descriptor back out of a Socket is not supported. After setup the descriptor is the
// stream transport's (Streams/), driven by Weft's netpoller like a pipe.
//
// Connect:
//   * Unix: a non-blocking connect completes at once or fails at once; EAGAIN means the listener's backlog is full,
//     and the connect retries with back-off (1 ms doubling to 50 ms), cancellable at every wait. Then the
//     listener's uid (SO_PEERCRED) is checked like a listener checks its peers: a client does not send its data to
//     whoever squatted the path.
//   * TCP: EINPROGRESS, then a wait for writability through the netpoller (a goroutine parks, no thread blocks),
//     cancellable; SO_ERROR says how it ended. TCP_NODELAY is set on both ends.
// Cancellation of a connect closes the half-made socket: nothing is left behind.
//
// The security rules (the socket file's directory and mode, the refusal of symlinks and foreign files, the peer's
// uid) are in SocketSetup.cs.

using System.Net;
using System.Runtime.InteropServices;
using Weft.Ipc.Interop;
using Weft.Ipc.Sockets;
using Weft.Ipc.Streams;
using Weft.Runtime;

namespace Weft.Ipc;

/// <summary>Unix domain socket and TCP listeners and connects, with each connection a pair of channel endpoints (Linux).</summary>
/// <example><code>
/// string path = IpcSocket.UnixPath("echo.sock");
/// using var listener = IpcSocket.ListenUnix(path, IpcCodec.Utf8());
/// using var client = await IpcSocket.ConnectUnixAsync(path, IpcCodec.Utf8());
/// using var server = await listener.Connections.ReceiveAsync();
/// await client.Sender.Channel.SendAsync("hello");
/// string greeting = await server.Receiver.Channel.ReceiveAsync();
/// </code></example>
public static class IpcSocket
{
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The directory for this user's sockets: <c>$XDG_RUNTIME_DIR/weft</c> when XDG_RUNTIME_DIR is set, else
    /// <c>/tmp/weft-&lt;uid&gt;</c>. <see cref="UnixPath"/> creates it with mode 0700.
    /// </summary>
    public static string DefaultDirectory { get; } = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg
        ? System.IO.Path.Combine(xdg, "weft")
        : "/tmp/weft-" + (OperatingSystem.IsLinux() ? Libc.GetUid() : 0u);

    /// <summary>A socket path in <see cref="DefaultDirectory"/>, which this creates (mode 0700) if it does not exist.</summary>
    /// <param name="name">The socket file's name: 1 to 200 characters from A-Z, a-z, 0-9, '.', '_' and '-'.</param>
    /// <returns>The path, for <see cref="ListenUnix"/> and <see cref="ConnectUnixAsync"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid name (the message says what is allowed).</exception>
    /// <exception cref="IOException">The directory exists but is a symlink, another user's, or open to others.</exception>
    /// <exception cref="IpcException">mkdir or statx failed.</exception>
    /// <example><code>string path = IpcSocket.UnixPath("orders.sock"); // e.g. /run/user/1000/weft/orders.sock</code></example>
    public static string UnixPath(string name)
    {
        string file = IpcNames.ToPath(name, "A socket")[1..];
        CheckLinux();
        SocketSetup.EnsurePrivateDirectory(DefaultDirectory, Libc.GetUid());
        return System.IO.Path.Combine(DefaultDirectory, file);
    }

    /// <summary>
    /// Listens on a Unix domain socket at <paramref name="path"/>: the directory is made 0700 if missing and must be
    /// this user's and 0700 if present; the socket file is made 0600; a stale socket of this user is replaced.
    /// </summary>
    /// <typeparam name="T">The element type of every connection.</typeparam>
    /// <param name="path">The socket's path (at most 107 bytes of UTF-8). See <see cref="UnixPath"/>.</param>
    /// <param name="codec">How values become bytes; clients must use the same.</param>
    /// <param name="options">Frame size, backlog, allowed uids, refusal buffer; null for the defaults.</param>
    /// <returns>The listener; dispose it to stop listening and remove the socket file.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, too long, or has no directory.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message names it).</exception>
    /// <exception cref="IOException">The path is a symlink, another user's, not a socket, or in use; or the directory is not private (the message says which).</exception>
    /// <exception cref="IpcException">socket, bind, chmod or listen failed; the message names the call, the path and the errno.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Making the listener does not wait, so it takes no token; accepting is a channel receive, cancellable like any.</remarks>
    /// <example><code>
    /// using var listener = IpcSocket.ListenUnix(IpcSocket.UnixPath("app.sock"), IpcCodec.Unmanaged&lt;int&gt;());
    /// var sel = new Select();
    /// var accepted = sel.Receive(listener.Connections);
    /// var stop = sel.Receive(shutdown);
    /// while (await sel.WaitAsync() == 0) Serve(accepted.Value); // until shutdown is ready
    /// </code></example>
    public static IpcListener<T> ListenUnix<T>(string path, IpcCodec<T> codec, IpcSocketOptions? options = null) =>
        ListenUnixCore(path, codec, options, credentials: null);

    internal static unsafe IpcListener<T> ListenUnixCore<T>(string path, IpcCodec<T> codec, IpcSocketOptions? options, Func<int, Libc.UCred>? credentials)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(codec);
        options ??= IpcSocketOptions.Default;
        options.Validate(listener: true);
        CheckLinux();
        byte* address = stackalloc byte[Libc.SockaddrMax];
        int length = SocketSetup.UnixAddress(path, address);
        string full = System.IO.Path.GetFullPath(path);
        string directory = System.IO.Path.GetDirectoryName(full) ?? throw new ArgumentException($"The Unix socket path '{path}' has no directory.", nameof(path));
        uint uid = Libc.GetUid();
        SocketSetup.EnsurePrivateDirectory(directory, uid);
        SocketSetup.ClearSocketPath(path, uid);
        var fd = SocketSetup.NewSocket(Libc.AF_UNIX);
        bool bound = false;
        try
        {
            if (Libc.Bind(fd.Fd, address, length) != 0) throw Errno.Fail("bind", path);
            bound = true;
            // Before listen: no connection can arrive while the mode is still the umask's.
            if (Libc.Chmod(path, SocketSetup.Mode0600) != 0) throw Errno.Fail("chmod", path);
            if (Libc.Listen(fd.Fd, options.Backlog) != 0) throw Errno.Fail("listen", path);
            return new IpcListener<T>(fd, codec, options, path, null, credentials);
        }
        catch
        {
            fd.Dispose();
            if (bound) _ = Libc.Unlink(path);
            throw;
        }
    }

    /// <summary>Connects to the Unix socket listener at <paramref name="path"/>, and checks the listener's uid.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="path">The listener's socket path.</param>
    /// <param name="codec">How values become bytes; the listener must use the same.</param>
    /// <param name="options">Frame size and the uids the listener may run as, besides this user's; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the wait while the listener's backlog is full; the socket is then closed.</param>
    /// <returns>The connection's two directions; dispose it to send the close frame and close the socket.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or too long.</exception>
    /// <exception cref="IpcException">connect failed: ENOENT (no socket there), ECONNREFUSED (no listener), EACCES...; the message names the path.</exception>
    /// <exception cref="UnauthorizedAccessException">The listener runs as a uid that is not this user's and not allowed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <example><code>using var conn = await IpcSocket.ConnectUnixAsync(path, IpcCodec.Unmanaged&lt;int&gt;(), cancellationToken: token);</code></example>
    public static ValueTask<IpcDuplex<T>> ConnectUnixAsync<T>(string path, IpcCodec<T> codec, IpcSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectUnixCoreAsync(path, codec, options, null, cancellationToken);

    internal static async ValueTask<IpcDuplex<T>> ConnectUnixCoreAsync<T>(string path, IpcCodec<T> codec, IpcSocketOptions? options, Func<int, Libc.UCred>? credentials, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(codec);
        options ??= IpcSocketOptions.Default;
        options.Validate(listener: false);
        CheckLinux();
        var fd = SocketSetup.NewSocket(Libc.AF_UNIX);
        try
        {
            var backoff = s_firstBackoff;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int errno = TryConnectUnix(fd.Fd, path);
                if (errno == 0) break;
                if (errno != Libc.EAGAIN) throw Errno.Fail("connect", path, errno);
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false); // the backlog is full
                backoff = backoff * 2 < s_maxBackoff ? backoff * 2 : s_maxBackoff;
            }
            var cred = (credentials ?? SocketSetup.PeerCredentials)(fd.Fd);
            if (SocketSetup.CheckPeer(cred.Uid, Libc.GetUid(), options.AllowedUids) is { } reason)
            {
                throw new UnauthorizedAccessException($"The listener at {path} (pid {cred.Pid}) was refused: {reason}. No data was sent.");
            }
            return Duplex(fd, codec, options.MaxFrameSize, "Unix socket");
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static unsafe int TryConnectUnix(int fd, string path)
    {
        byte* address = stackalloc byte[Libc.SockaddrMax];
        int length = SocketSetup.UnixAddress(path, address);
        while (true)
        {
            if (Libc.Connect(fd, address, length) == 0) return 0;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EINTR) return errno;
        }
    }

    /// <summary>Listens on TCP at <paramref name="endPoint"/> (loopback unless <see cref="IpcSocketOptions.AllowNonLoopback"/>), with TCP_NODELAY on every connection.</summary>
    /// <typeparam name="T">The element type of every connection.</typeparam>
    /// <param name="endPoint">The address and port; port 0 lets the kernel choose (read it from <see cref="IpcListener{T}.EndPoint"/>).</param>
    /// <param name="codec">How values become bytes; clients must use the same.</param>
    /// <param name="options">Frame size, backlog, <see cref="IpcSocketOptions.AllowNonLoopback"/>; null for the defaults.</param>
    /// <returns>The listener; dispose it to stop listening.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endPoint"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException">The address is not loopback and the option is not set, or is not IPv4/IPv6.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="IpcException">socket, bind (e.g. EADDRINUSE) or listen failed; the message names the call, the address and the errno.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>A TCP peer is not authenticated: anyone who can reach the address can connect.</remarks>
    /// <example><code>
    /// using var listener = IpcSocket.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), IpcCodec.Unmanaged&lt;long&gt;());
    /// int port = listener.EndPoint!.Port;
    /// </code></example>
    public static unsafe IpcListener<T> ListenTcp<T>(IPEndPoint endPoint, IpcCodec<T> codec, IpcSocketOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        options ??= IpcSocketOptions.Default;
        SocketSetup.CheckTcpEndPoint(endPoint, options.AllowNonLoopback, nameof(endPoint));
        options.Validate(listener: true);
        CheckLinux();
        var fd = SocketSetup.NewSocket(endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? Libc.AF_INET : Libc.AF_INET6);
        try
        {
            int one = 1;
            if (Libc.SetSockOpt(fd.Fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, &one, sizeof(int)) != 0) throw Errno.Fail("setsockopt(SO_REUSEADDR)", endPoint.ToString());
            byte* address = stackalloc byte[Libc.SockaddrMax];
            int length = SocketSetup.InetAddress(endPoint, address);
            if (Libc.Bind(fd.Fd, address, length) != 0) throw Errno.Fail("bind", endPoint.ToString());
            if (Libc.Listen(fd.Fd, options.Backlog) != 0) throw Errno.Fail("listen", endPoint.ToString());
            int bound = Libc.SockaddrMax;
            if (Libc.GetSockName(fd.Fd, address, &bound) != 0) throw Errno.Fail("getsockname", endPoint.ToString());
            return new IpcListener<T>(fd, codec, options, null, new IPEndPoint(endPoint.Address, SocketSetup.Port(address)));
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Connects over TCP to <paramref name="endPoint"/> (loopback unless <see cref="IpcSocketOptions.AllowNonLoopback"/>), with TCP_NODELAY.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="endPoint">The listener's address and port.</param>
    /// <param name="codec">How values become bytes; the listener must use the same.</param>
    /// <param name="options">Frame size, <see cref="IpcSocketOptions.AllowNonLoopback"/>; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the wait for the connection; the half-made socket is closed.</param>
    /// <returns>The connection's two directions; dispose it to send the close frame and close the socket.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endPoint"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException">The address is not loopback and the option is not set, or is not IPv4/IPv6.</exception>
    /// <exception cref="IpcException">connect failed (e.g. ECONNREFUSED: nothing listens there); the message names the address.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <example><code>using var conn = await IpcSocket.ConnectTcpAsync(new IPEndPoint(IPAddress.Loopback, port), IpcCodec.Unmanaged&lt;long&gt;());</code></example>
    public static async ValueTask<IpcDuplex<T>> ConnectTcpAsync<T>(IPEndPoint endPoint, IpcCodec<T> codec, IpcSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        options ??= IpcSocketOptions.Default;
        SocketSetup.CheckTcpEndPoint(endPoint, options.AllowNonLoopback, nameof(endPoint));
        options.Validate(listener: false);
        CheckLinux();
        cancellationToken.ThrowIfCancellationRequested();
        var fd = SocketSetup.NewSocket(endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? Libc.AF_INET : Libc.AF_INET6);
        try
        {
            SocketSetup.SetNoDelay(fd.Fd);
            int errno = StartConnectTcp(fd.Fd, endPoint);
            if (errno == Libc.EINPROGRESS)
            {
                var wait = new ConnectWait();
                var poll = Netpoll.Register(fd.Fd, wait);
                try
                {
                    await wait.WaitAsync(poll, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Netpoll.Unregister(poll);
                }
                errno = SocketError(fd.Fd);
            }
            if (errno != 0) throw Errno.Fail("connect", endPoint.ToString(), errno);
            return Duplex(fd, codec, options.MaxFrameSize, "TCP connection");
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The wait for a TCP connect to finish (writable, or failed). Its own handler rather than PollDesc.WaitAsync:
    /// the completion source exists before the arm, so an event that comes between the arm and the await is kept.
    /// </summary>
    private sealed class ConnectWait : IPollHandler
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnReadable()
        {
            // Only writability (or an error, which reports both directions) ends a connect.
        }

        public void OnWritable() => _done.TrySetResult();

        internal async Task WaitAsync(PollDesc poll, CancellationToken cancellationToken)
        {
            if (!poll.ArmWrite()) return; // an edge came already: SO_ERROR says how it went
            using var registration = cancellationToken.UnsafeRegister(
                static (s, token) =>
                {
                    var (poll, done) = ((PollDesc, TaskCompletionSource))s!;
                    if (poll.TryDisarm(write: true)) done.TrySetCanceled(token);
                },
                (poll, _done));
            await _done.Task.ConfigureAwait(false);
        }
    }

    private static unsafe int StartConnectTcp(int fd, IPEndPoint endPoint)
    {
        byte* address = stackalloc byte[Libc.SockaddrMax];
        int length = SocketSetup.InetAddress(endPoint, address);
        if (Libc.Connect(fd, address, length) == 0) return 0;
        int errno = Marshal.GetLastPInvokeError();
        return errno == Libc.EINTR ? Libc.EINPROGRESS : errno; // an interrupted connect goes on in the background
    }

    private static unsafe int SocketError(int fd)
    {
        int error = 0, length = sizeof(int);
        if (Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_ERROR, &error, &length) != 0) return Marshal.GetLastPInvokeError();
        return error;
    }

    /// <summary>Both directions over one connected, non-blocking socket (the descriptor is the connection's from here on).</summary>
    internal static IpcDuplex<T> Duplex<T>(FileDescriptor fd, IpcCodec<T> codec, int maxFrameSize, string kind)
    {
        var connection = new StreamConnection(fd, directions: 2);
        return new IpcDuplex<T>(new IpcSender<T>(connection, codec, maxFrameSize, kind), new IpcReceiver<T>(connection, codec, maxFrameSize, kind));
    }

    private static void CheckLinux()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft.Ipc sockets need Linux (epoll, SO_PEERCRED).");
    }
}
