// FrameFormat — the bytes Weft puts on a stream (a pipe, a Unix socket): one hello, then frames.
//
//   hello  [u32 magic "WEFT"][u16 version][u16 reserved = 0][u64 codec fingerprint][u32 maximum frame size]  (20 bytes)
//   frame  [u32 payload length][u8 kind][payload]      kind: 0 data, 1 close, 2 error (payload: UTF-8 text)
//   A data frame's payload is at most the endpoint's maximum frame size; an error frame's at most MaxErrorText.
// All integers little-endian, whatever the host (both ends are on one machine today, but a TCP peer may not be).
//
// The exact close rule (issue 16 asks for it written down):
//   * a close frame: the writer closed its endpoint. Every data frame before it is received, in order; then the
//     receive channel is closed, receives return ok = false, and the endpoint's Error is null;
//   * an error frame: the writer closed its endpoint because of an error it names (e.g. a value it could not encode);
//     after the frames before it, the channel is closed and Error is an IpcProtocolException with that text;
//   * end of stream (read returns 0, or ECONNRESET) without either: the peer is gone (a crash, kill -9). After the
//     complete frames before it, the channel is closed and Error is a PeerLostException; a partial frame at the end
//     is dropped and named in the message (it was never complete, so it was never sent);
//   * a broken stream (a bad hello, a length over the maximum, an unknown kind, a payload the codec rejects): the
//     channel is closed at once with an IpcProtocolException; the frames before it were received.
// The reader never allocates by a declared length: a frame's length is checked against the maximum before anything
// is read into the reader's one buffer, which was sized for the maximum when the endpoint was made.
//
// Rejected: a varint length (saves three bytes per frame and costs a branchy decode on every frame); a checksum per
// frame (the kernel does not corrupt pipe or socket bytes; torn frames come only from a dead writer, which EOF
// reports).

using System.Buffers.Binary;

namespace Weft.Ipc.Framing;

internal static class FrameFormat
{
    internal const uint Magic = 0x54464557; // "WEFT" as little-endian bytes
    internal const ushort Version = 1;
    internal const int HelloSize = 20;
    internal const int HeaderSize = 5;

    internal const byte KindData = 0;
    internal const byte KindClose = 1;
    internal const byte KindError = 2;

    /// <summary>
    /// The longest payload of an error frame (UTF-8; a message is cut to a quarter as many characters). Accepted
    /// whatever the endpoint's maximum frame size, so a tiny maximum still carries a readable error.
    /// </summary>
    internal const int MaxErrorText = 1024;

    /// <summary>The default maximum payload of one frame.</summary>
    internal const int DefaultMaxFrameSize = 64 * 1024;

    /// <summary>The largest maximum an endpoint accepts (each endpoint holds a buffer of this size).</summary>
    internal const int MaxFrameSizeLimit = 16 * 1024 * 1024;

    internal static void WriteHello(Span<byte> destination, ulong fingerprint, int maxFrameSize)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], fingerprint);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], (uint)maxFrameSize);
    }

    /// <summary>Null if the peer's hello matches this end; else the error, naming both sides.</summary>
    internal static string? CheckHello(ReadOnlySpan<byte> hello, ulong fingerprint, string codecName, int maxFrameSize)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(hello);
        if (magic != Magic) return $"The stream does not start with Weft's hello (magic 0x{magic:X8}, expected 0x{Magic:X8}): the peer is not a Weft endpoint.";
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(hello[4..]);
        if (version != Version) return $"The peer speaks Weft framing version {version}; this end speaks version {Version}.";
        ulong theirs = BinaryPrimitives.ReadUInt64LittleEndian(hello[8..]);
        if (theirs != fingerprint)
        {
            return $"The peer encodes with another codec (fingerprint 0x{theirs:X16}) than this end decodes ({codecName}, "
                + $"fingerprint 0x{fingerprint:X16}): both ends must use the same codec for the same type.";
        }
        uint theirMax = BinaryPrimitives.ReadUInt32LittleEndian(hello[16..]);
        if (theirMax > (uint)maxFrameSize)
        {
            return $"The peer may send frames of up to {theirMax} bytes, more than this end's maximum of {maxFrameSize}: "
                + "give both ends the same maximum frame size.";
        }
        return null;
    }

    /// <summary>Validates a maximum frame size given by a caller.</summary>
    internal static int CheckMaxFrameSize(int maxFrameSize, string paramName)
    {
        if (maxFrameSize < 1 || maxFrameSize > MaxFrameSizeLimit)
        {
            throw new ArgumentOutOfRangeException(paramName, maxFrameSize,
                $"The maximum frame size must be from 1 to {MaxFrameSizeLimit} bytes (each endpoint holds a buffer of that size); it was {maxFrameSize}.");
        }
        return maxFrameSize;
    }
}
