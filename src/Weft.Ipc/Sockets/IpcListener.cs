// IpcListener<T> — a Unix socket or TCP listener whose accepted connections are a receive channel
// (AcceptTransport.cs), plus the refusals it made, as a channel and as counters. Made by IpcSocket.ListenUnix and
// IpcSocket.ListenTcp.

using System.Net;
using Weft.Ipc.Interop;
using Weft.Ipc.Sockets;

namespace Weft.Ipc;

/// <summary>
/// A listening socket. Each connection a client makes arrives on <see cref="Connections"/> as an
/// <see cref="IpcDuplex{T}"/>, so accepting is a receive, and a <see cref="Select"/> can wait for a new connection
/// beside local channels, timers and other endpoints.
/// </summary>
/// <typeparam name="T">The element type of every connection.</typeparam>
/// <remarks>
/// <para>A Unix socket listener admits only peers of this process's uid or of <see cref="IpcSocketOptions.AllowedUids"/>
/// (SO_PEERCRED). Any other connection is closed after an error frame that tells the client why; it is counted in
/// <see cref="RefusedCount"/> and sent (when there is room) on <see cref="Refusals"/>.</para>
/// <para>Dispose closes <see cref="Connections"/> (receivers get ok = false) and <see cref="Refusals"/>, closes the
/// socket, removes a Unix socket's file, and disposes a connection that was accepted but not received. Connections
/// already received are the receiver's to dispose. If accepting fails (e.g. out of descriptors), Connections closes
/// and <see cref="Error"/> says why.</para>
/// </remarks>
/// <example><code>
/// using var listener = IpcSocket.ListenUnix(IpcSocket.UnixPath("app.sock"), IpcCodec.Unmanaged&lt;long&gt;());
/// await foreach (IpcDuplex&lt;long&gt; client in listener.Connections)
/// {
///     Go.Run(async () =&gt; { using (client) await foreach (long v in client.Receiver.Channel) await client.Sender.Channel.SendAsync(v); });
/// }
/// </code></example>
public sealed class IpcListener<T> : IDisposable
{
    private readonly Chan<IpcDuplex<T>> _connections;
    private readonly Chan<IpcRefusal> _refusals;
    private long _refused, _dropped;
    private int _disposed;

    internal IpcListener(FileDescriptor listening, IpcCodec<T> codec, IpcSocketOptions options, string? unixPath, IPEndPoint? endPoint,
        Func<int, Libc.UCred>? credentials = null)
    {
        Path = unixPath;
        EndPoint = endPoint;
        _refusals = new Chan<IpcRefusal>(options.RefusalCapacity);
        _connections = new Chan<IpcDuplex<T>>(new AcceptTransport<T>(listening, codec, options, unixPath, unixPath ?? endPoint!.ToString(), credentials, Refuse));
    }

    /// <summary>The accepted connections, in the order the kernel queued them. Closed by <see cref="Dispose"/> or a failure (<see cref="Error"/>).</summary>
    public ReceiveOnlyChan<IpcDuplex<T>> Connections => _connections;

    /// <summary>The peers refused (Unix sockets), buffered up to <see cref="IpcSocketOptions.RefusalCapacity"/>; closed by <see cref="Dispose"/>.</summary>
    public ReceiveOnlyChan<IpcRefusal> Refusals => _refusals;

    /// <summary>How many peers were refused since the listener started, including those dropped from <see cref="Refusals"/>.</summary>
    public long RefusedCount => Volatile.Read(ref _refused);

    /// <summary>How many refusals were not put on <see cref="Refusals"/> because it was full (they are still in <see cref="RefusedCount"/>).</summary>
    public long RefusalsDropped => Volatile.Read(ref _dropped);

    /// <summary>A Unix socket listener's path; null for TCP.</summary>
    public string? Path { get; }

    /// <summary>A TCP listener's address, with the port the kernel chose when asked for port 0; null for a Unix socket.</summary>
    public IPEndPoint? EndPoint { get; }

    /// <summary>Why <see cref="Connections"/> closed on its own (an <see cref="IpcException"/> from accept4); null while listening or after <see cref="Dispose"/>.</summary>
    public Exception? Error => _connections.TransportError;

    private void Refuse(IpcRefusal refusal)
    {
        Interlocked.Increment(ref _refused);
        if (!_refusals.TrySend(refusal)) Interlocked.Increment(ref _dropped);
    }

    /// <summary>Stops listening: see the remarks. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _connections.CloseEndpoint(); // after this no accept runs, so no refusal is reported any more
        while (_connections.TryReceive(out var unclaimed)) unclaimed.Dispose();
        _refusals.Close();
    }

    /// <inheritdoc/>
    public override string ToString() => $"IpcListener {Path ?? EndPoint?.ToString()} {_connections}";
}
