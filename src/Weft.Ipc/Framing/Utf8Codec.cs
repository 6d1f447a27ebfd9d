// Utf8Codec — strings as UTF-8, up to a maximum number of bytes. Encoding writes straight into the frame (no
// intermediate array); a lone surrogate is encoded as U+FFFD, as Encoding.UTF8 does. Decoding validates first
// (Utf8.IsValid), so a payload that is not UTF-8 is an IpcProtocolException on that endpoint rather than a string
// quietly full of replacement characters. A null string cannot be sent (there is no null in the format).

using System.Text;
using System.Text.Unicode;

namespace Weft.Ipc.Framing;

internal sealed class Utf8Codec(int maxLength) : IpcCodec<string>
{
    public override string Name => $"Utf8(max {maxLength})";

    internal override ulong Fingerprint { get; } = Fnv.Hash("utf8");

    internal override int Encode(string value, Span<byte> destination)
    {
        if (value is null) return -1;
        var room = destination.Length < maxLength ? destination : destination[..maxLength];
        var status = Utf8.FromUtf16(value, room, out _, out int written, replaceInvalidSequences: true);
        return status == System.Buffers.OperationStatus.Done ? written : -1;
    }

    internal override long EncodedLength(string value) => value is null ? -1 : Encoding.UTF8.GetByteCount(value);

    internal override string Decode(ReadOnlySpan<byte> payload, out string? error)
    {
        if (payload.Length > maxLength)
        {
            error = $"A {Name} payload is at most {maxLength} bytes; this frame had {payload.Length}.";
            return "";
        }
        if (!Utf8.IsValid(payload))
        {
            error = $"A {Name} payload of {payload.Length} bytes is not valid UTF-8.";
            return "";
        }
        error = null;
        return Encoding.UTF8.GetString(payload);
    }
}
