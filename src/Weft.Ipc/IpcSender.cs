// IpcSender<T> — the sending end of an IPC stream, as a send-only channel (see IpcReceiver.cs).

using Weft.Ipc.Streams;

namespace Weft.Ipc;

/// <summary>
/// The sending end of an IPC stream (a pipe, a socket). Send on <see cref="Channel"/> as on any channel, including
/// in a <see cref="Select"/>. A send completes once the kernel (or the endpoint's one-frame outbox, which is flushed
/// before the next frame) has the value's bytes.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>
/// <para>Close the channel (or dispose this) to send the close frame: the peer receives every value sent before it,
/// then sees the channel closed. If the peer is gone, sends fail with <see cref="ChannelClosedException"/> and
/// <see cref="Error"/> is a <see cref="PeerLostException"/>. A value the codec cannot fit in a frame closes the
/// endpoint with an <see cref="ArgumentException"/> as its <see cref="Error"/>, and the peer receives an error frame.</para>
/// <para>Cancellation is exact: a cancelled send never delivered its value.</para>
/// </remarks>
/// <example><code>
/// var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged&lt;int&gt;());
/// await sender.Channel.SendAsync(42);
/// sender.Channel.Close();
/// </code></example>
public sealed class IpcSender<T> : IDisposable
{
    private readonly Chan<T> _channel;

    internal IpcSender(StreamConnection connection, IpcCodec<T> codec, int maxFrameSize, string kind) =>
        _channel = new Chan<T>(new StreamSender<T>(connection, codec, maxFrameSize, kind));

    /// <summary>An endpoint over another transport (a message queue: MessageQueues/).</summary>
    internal IpcSender(Weft.Channels.IChanTransport<T> transport) => _channel = new Chan<T>(transport);

    /// <summary>The channel to send on; its <c>Close</c> sends the close frame.</summary>
    public SendOnlyChan<T> Channel => _channel;

    /// <summary>Why the stream ended: null while open or after a close; else a <see cref="PeerLostException"/>, an <see cref="ArgumentException"/> (a value too large) or an <see cref="IpcException"/>.</summary>
    public Exception? Error => _channel.TransportError;

    /// <summary>Closes the channel if it is open (sending the close frame after every value already sent) and releases the descriptor once that is written. Idempotent.</summary>
    public void Dispose() => _channel.CloseEndpoint();

    /// <inheritdoc/>
    public override string ToString() => "IpcSender " + _channel;
}
