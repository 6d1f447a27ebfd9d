// StreamReceiver<T> — a receive endpoint's transport over a stream: reads the kernel's bytes into one buffer, cuts
// them into frames (Framing/FrameFormat.cs, which also states the close rule), and decodes data frames.
//
// The buffer is allocated once, big enough for the hello or one frame of the maximum size, and reused: a frame's
// declared length is checked against the maximum before anything waits for its bytes, so a hostile length costs
// nothing. A read takes as much as the buffer has room for, so several small frames come out of one system call.
// NotReady is returned after read(2) said EAGAIN, which is what makes the edge-triggered netpoller's next edge
// certain, or, for a goroutine's receive that parks and arms on NotReady (TryTakeBeforePark), without a read when the
// last read drained the kernel (EAGAIN or a short read) and no read edge was dispatched since: Netpoll.cs, "Drained".
// That saves the read(2) that found EAGAIN on every hop of a round trip, where the answer is never there yet when
// the receive parks. A try (TryTake) always reads: a select's poll and TryReceive see what the kernel has.
//
// Ownership: everything here runs under the channel's lock (TryTake), except OnChannelClosed, which runs once after
// the channel closed, when no TryTake can come any more. LooksReadable reads _start and _end racily: a stale answer
// only costs a select a locked try that finds nothing, or defers it to the select's locked pass.

using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weft.Channels;
using Weft.Ipc.Framing;
using Weft.Ipc.Interop;

namespace Weft.Ipc.Streams;

internal sealed class StreamReceiver<T> : IReceiveTransport<T>
{
    private readonly StreamConnection _connection;
    private readonly IpcCodec<T> _codec;
    private readonly int _maxFrame;
    private readonly string _kind;
    private readonly byte[] _buffer;
    private int _start, _end;  // unread bytes: _buffer[_start.._end)
    private bool _drained;         // the last read(2) emptied the kernel (a short read, or EAGAIN)... (channel lock)
    private int _edgesBeforeDrain; // ...and the descriptor's ReadEdges just before that read (channel lock)
    private bool _helloSeen;
    private bool _ended;
    private Exception? _error;

    internal StreamReceiver(StreamConnection connection, IpcCodec<T> codec, int maxFrame, string kind)
    {
        _connection = connection;
        _codec = codec;
        _maxFrame = maxFrame;
        _kind = kind;
        _buffer = new byte[Math.Max(FrameFormat.HelloSize, FrameFormat.HeaderSize + Math.Max(maxFrame, FrameFormat.MaxErrorText))];
    }

    public Exception? Error => Volatile.Read(ref _error);

    /// <summary>The descriptor this receiver reads; for tests of the drained rule.</summary>
    internal StreamConnection Connection => _connection;

    public bool LooksReadable => _connection.Poll.LooksReadable || Volatile.Read(ref _end) - Volatile.Read(ref _start) >= FrameFormat.HeaderSize;

    public void Attach(IChanTransportOwner owner) => _connection.Receiver = owner;

    public bool ArmReceive() => _connection.Poll.ArmRead();

    public TransportStatus TryTake(out T value) => Take(out value, beforePark: false);

    public TransportStatus TryTakeBeforePark(out T value) => Take(out value, beforePark: true);

    private TransportStatus Take(out T value, bool beforePark)
    {
        value = default!;
        if (_ended) return TransportStatus.Closed;
        while (true)
        {
            int available = _end - _start;
            if (!_helloSeen)
            {
                if (available >= FrameFormat.HelloSize)
                {
                    string? mismatch = FrameFormat.CheckHello(_buffer.AsSpan(_start, FrameFormat.HelloSize), _codec.Fingerprint, _codec.Name, _maxFrame);
                    if (mismatch is not null) return End(new IpcProtocolException(mismatch));
                    _start += FrameFormat.HelloSize;
                    _helloSeen = true;
                    continue;
                }
            }
            else if (available >= FrameFormat.HeaderSize)
            {
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_start));
                byte kind = _buffer[_start + 4];
                if (length > (uint)(kind == FrameFormat.KindError ? Math.Max(_maxFrame, FrameFormat.MaxErrorText) : _maxFrame))
                {
                    return End(new IpcProtocolException(
                        $"A frame on this {_kind} declares {length} bytes; this endpoint's maximum frame size is {_maxFrame}. The stream is closed."));
                }
                if (available >= FrameFormat.HeaderSize + (int)length)
                {
                    var payload = _buffer.AsSpan(_start + FrameFormat.HeaderSize, (int)length);
                    _start += FrameFormat.HeaderSize + (int)length;
                    Volatile.Write(ref _start, _start);
                    switch (kind)
                    {
                        case FrameFormat.KindData:
                            value = _codec.Decode(payload, out string? error);
                            if (error is not null) return End(new IpcProtocolException(error + " The stream is closed."));
                            return TransportStatus.Done;
                        case FrameFormat.KindClose:
                            return End(null);
                        case FrameFormat.KindError:
                            return End(new IpcProtocolException("The peer closed the stream with an error: " + System.Text.Encoding.UTF8.GetString(payload)));
                        default:
                            return End(new IpcProtocolException(
                                $"A frame on this {_kind} has kind {kind}; the kinds are 0 (data), 1 (close) and 2 (error). The stream is closed."));
                    }
                }
            }
            // Drained: no complete frame is buffered, the last read(2) emptied the kernel, and no read edge was
            // dispatched since; bytes that come now raise an edge that the caller's arm will meet (the essay above).
            if (beforePark && _drained && _connection.Poll.ReadEdges == _edgesBeforeDrain) return TransportStatus.NotReady;
            if (_start > 0)
            {
                _buffer.AsSpan(_start, available).CopyTo(_buffer);
                _start = 0;
                Volatile.Write(ref _end, available);
            }
            int edges = _connection.Poll.ReadEdges; // before the read: an edge dispatched after this may be for bytes the read takes, which only costs a read
            int room = _buffer.Length - _end;
            nint n = ReadIntoBuffer(room, out int errno);
            if (n > 0)
            {
                Volatile.Write(ref _end, _end + (int)n);
                _drained = n < room;
                _edgesBeforeDrain = edges;
                continue;
            }
            if (errno == Libc.EINTR) continue;
            if (errno == Libc.EAGAIN)
            {
                _drained = true;
                _edgesBeforeDrain = edges;
                return TransportStatus.NotReady;
            }
            if (errno is 0 or Libc.ECONNRESET)
            {
                string how = errno == 0 ? "ended" : "was reset";
                string partial = available == 0 ? "" : $" The last {available} bytes were the start of a frame that never completed, and were dropped.";
                return End(new PeerLostException($"The {_kind} {how} without a close frame: the peer exited or was killed before closing its endpoint.{partial}"));
            }
            return End(Errno.Fail("read", null, errno));
        }
    }

    /// <summary>
    /// One read(2) into the buffer's free tail: the count, and errno when it is negative (0 at the stream's end).
    /// Kept out of Take: a method that contains a P/Invoke sets up the call's frame in its prologue on every call,
    /// and many calls make none (a parking receive under the drained rule, a frame already buffered).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private unsafe nint ReadIntoBuffer(int room, out int errno)
    {
        nint n;
        fixed (byte* p = _buffer) n = Libc.Read(_connection.Fd, p + _end, room);
        errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        return n;
    }

    private TransportStatus End(Exception? error)
    {
        _ended = true;
        Volatile.Write(ref _error, error);
        return TransportStatus.Closed;
    }

    public void OnChannelClosed() => _connection.Release();
}
