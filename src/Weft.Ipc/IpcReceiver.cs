// IpcReceiver<T> — the receiving end of an IPC stream, as a receive-only channel. The channel is a real Chan<T>
// over a transport (src/Weft/Channels/Chan.Transport.cs), so it works in Select, await foreach and the
// System.Threading.Channels adapter like any other.

using Weft.Ipc.Streams;

namespace Weft.Ipc;

/// <summary>
/// The receiving end of an IPC stream (a pipe, a socket). Receive from <see cref="Channel"/> as from any channel,
/// including in a <see cref="Select"/> beside local channels and timers.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>
/// <para>When the peer closes its end (a close frame), the channel is closed after the values sent before it:
/// receives return <c>ok = false</c> and <see cref="Error"/> is null. When the stream ends without a close frame (the
/// peer crashed or was killed), the channel is closed the same way and <see cref="Error"/> is a
/// <see cref="PeerLostException"/>; a broken stream gives an <see cref="IpcProtocolException"/>.</para>
/// <para>Cancellation is exact: a cancelled receive consumed nothing, and a value taken from the kernel that no
/// receiver took waits in the channel (its <c>Len</c> counts it).</para>
/// <para>Dispose it when done: that releases the descriptor and closes the channel (receivers get ok = false).</para>
/// </remarks>
/// <example><code>
/// var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged&lt;int&gt;());
/// await foreach (int v in receiver.Channel) Console.WriteLine(v);
/// if (receiver.Error is { } e) Console.Error.WriteLine("stream failed: " + e.Message);
/// </code></example>
public sealed class IpcReceiver<T> : IDisposable
{
    private readonly Chan<T> _channel;

    internal IpcReceiver(StreamConnection connection, IpcCodec<T> codec, int maxFrameSize, string kind) =>
        _channel = new Chan<T>(new StreamReceiver<T>(connection, codec, maxFrameSize, kind));

    /// <summary>An endpoint over another transport (a message queue: MessageQueues/).</summary>
    internal IpcReceiver(Weft.Channels.IChanTransport<T> transport) => _channel = new Chan<T>(transport);

    /// <summary>The channel to receive from.</summary>
    public ReceiveOnlyChan<T> Channel => _channel;

    /// <summary>Why the stream ended: null while open, after the peer's close frame, or after <see cref="Dispose"/>; else a <see cref="PeerLostException"/>, an <see cref="IpcProtocolException"/> or an <see cref="IpcException"/>.</summary>
    public Exception? Error => _channel.TransportError;

    /// <summary>Closes the channel (parked receivers get ok = false) and releases the descriptor. Idempotent.</summary>
    public void Dispose() => _channel.CloseEndpoint();

    /// <inheritdoc/>
    public override string ToString() => "IpcReceiver " + _channel;
}
