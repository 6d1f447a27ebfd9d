// BytesCodec — byte arrays as they are, up to a maximum. A received array is a new allocation (the receiver owns
// it, and a byte[] carries its length, so no pooled array can stand for it); PooledBytesCodec is the form that
// allocates nothing per message, with the same wire format.

namespace Weft.Ipc.Framing;

internal sealed class BytesCodec(int maxLength) : IpcCodec<byte[]>
{
    public override string Name => $"Bytes(max {maxLength})";

    internal override ulong Fingerprint { get; } = Fnv.Hash("bytes");

    internal override int Encode(byte[] value, Span<byte> destination)
    {
        if (value is null || value.Length > maxLength || value.Length > destination.Length) return -1;
        value.CopyTo(destination);
        return value.Length;
    }

    internal override long EncodedLength(byte[] value) => value?.Length ?? -1;

    internal override byte[] Decode(ReadOnlySpan<byte> payload, out string? error)
    {
        if (payload.Length > maxLength)
        {
            error = $"A {Name} payload is at most {maxLength} bytes; this frame had {payload.Length}.";
            return [];
        }
        error = null;
        return payload.ToArray();
    }
}
