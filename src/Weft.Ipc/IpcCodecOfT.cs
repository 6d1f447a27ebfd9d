// IpcCodec<T> — how values of T become frame payloads and back. Public so that an endpoint's factory can take one,
// closed to outside implementations for now (internal abstract members): a codec's fingerprint goes into the hello
// frame, and a third-party codec that got it wrong would corrupt streams silently. The codecs: IpcCodec.cs.

namespace Weft.Ipc;

/// <summary>
/// Turns values of <typeparamref name="T"/> into frame payloads and back. Get one from <see cref="IpcCodec"/>:
/// <see cref="IpcCodec.Unmanaged{T}"/> or <see cref="IpcCodec.Bytes"/>. Both ends of a stream must use the same
/// codec: the hello frame carries its fingerprint, and a mismatch closes the stream with an
/// <see cref="IpcProtocolException"/> naming both sides.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <example><code>var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged&lt;long&gt;());</code></example>
public abstract class IpcCodec<T>
{
    private protected IpcCodec()
    {
    }

    /// <summary>A name for messages, e.g. <c>Unmanaged&lt;Int64&gt;</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Identifies the encoding (the codec and, for unmanaged types, the size and layout of T).</summary>
    internal abstract ulong Fingerprint { get; }

    /// <summary>Writes <paramref name="value"/>; returns the bytes written, or -1 if it needs more than <paramref name="destination"/> has.</summary>
    internal abstract int Encode(T value, Span<byte> destination);

    /// <summary>The byte count <paramref name="value"/> needs (for the error when it is over the maximum).</summary>
    internal abstract long EncodedLength(T value);

    /// <summary>Reads a value; <paramref name="error"/> says why when the payload is not one this codec writes.</summary>
    internal abstract T Decode(ReadOnlySpan<byte> payload, out string? error);

    /// <inheritdoc/>
    public override string ToString() => Name;
}
