// StreamSender<T> — a send endpoint's transport over a stream: StreamSenderBase's outbox, encoding with the codec.

using Weft.Channels;

namespace Weft.Ipc.Streams;

internal sealed class StreamSender<T>(StreamConnection connection, IpcCodec<T> codec, int maxFrame, string kind)
    : StreamSenderBase(connection, codec.Fingerprint, maxFrame), ISendTransport<T>
{
    private static readonly Func<(IpcCodec<T> Codec, T Value), Span<byte>, int> s_encode = static (s, span) => s.Codec.Encode(s.Value, span);
    private static readonly Func<(IpcCodec<T> Codec, T Value), long> s_length = static s => s.Codec.EncodedLength(s.Value);

    private protected override string Kind => kind;

    public void Attach(IChanTransportOwner owner) => Owner = owner;

    public TransportStatus TryPut(T value) => PutLocked((codec, value), s_encode, s_length);
}
