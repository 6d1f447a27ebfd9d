// PooledBytesCodec — byte runs as ArraySegment<byte>, received into arrays rented from an ArrayPool: the byte codec
// that allocates nothing per message in steady state (issue 16).
//
// Why a second codec rather than pooling inside BytesCodec: a byte[] carries its own length, and the receiver owns a
// received array, so handing over an exact-length byte[] per message means one new array per message; an array that
// the codec took back and reused would change under a receiver that kept it. A segment says its length apart from
// its array, so a rented array (which may be longer) can carry any payload, and the ownership is the ArrayPool idiom
// .NET code already knows: the receiver returns the segment's array to the pool when it is done with it (once).
//
// The wire format is BytesCodec's (the payload is the bytes), and so is the fingerprint: a PooledBytes end talks to a
// Bytes end, either way round.
//
// Sending copies the segment's bytes into the frame; once the send completed, the kernel (or the sender's outbox)
// has them, so the caller may reuse or return its array at once. A default segment (no array) cannot be sent, as a
// null array cannot with BytesCodec; an empty segment over an array is an empty payload.

using System.Buffers;

namespace Weft.Ipc.Framing;

internal sealed class PooledBytesCodec(int maxLength, ArrayPool<byte> pool) : IpcCodec<ArraySegment<byte>>
{
    public override string Name => $"PooledBytes(max {maxLength})";

    internal override ulong Fingerprint { get; } = Fnv.Hash("bytes"); // BytesCodec's wire format: see the top

    internal override int Encode(ArraySegment<byte> value, Span<byte> destination)
    {
        if (value.Array is null || value.Count > maxLength || value.Count > destination.Length) return -1;
        value.AsSpan().CopyTo(destination);
        return value.Count;
    }

    internal override long EncodedLength(ArraySegment<byte> value) => value.Array is null ? -1 : value.Count;

    internal override ArraySegment<byte> Decode(ReadOnlySpan<byte> payload, out string? error)
    {
        if (payload.Length > maxLength)
        {
            error = $"A {Name} payload is at most {maxLength} bytes; this frame had {payload.Length}.";
            return default;
        }
        error = null;
        byte[] array = pool.Rent(payload.Length);
        payload.CopyTo(array);
        return new ArraySegment<byte>(array, 0, payload.Length);
    }
}
