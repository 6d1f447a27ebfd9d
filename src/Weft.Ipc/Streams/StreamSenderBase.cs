// StreamSenderBase — the byte side of a send endpoint: the hello, the one-frame outbox, flushing, and the end.
//
// "Send completed" means the kernel has the frame's bytes, or the outbox has the rest of them: a put first flushes
// whatever the outbox holds (NotReady, taking nothing, if the kernel will not take it all), then encodes the frame
// into the empty outbox and writes what the kernel takes. So the outbox holds at most one frame, plus the final close
// or error frame, and frames go out whole and in order. The hello is the outbox's first content, so it goes out
// before the first frame without a special case.
//
// The end: the channel closes (its owner's Close or Dispose, or a failure reported here), and OnChannelClosed queues
// a close frame behind the outbox (unless an error frame or a broken stream came first) and flushes. If the kernel
// will not take it all now, the netpoller's write readiness finishes it (OnWritable while closing), and only then
// is the descriptor released, so a reader sees every frame and then the close frame, never an early EOF.
//
// Small writes: a write of at most Libc.SmallWrite bytes (every frame of a typical message) is made without the GC
// transition (Libc.WriteSmall, [SuppressGCTransition], errno read directly and only on failure). The transition to and
// from preemptive mode, with SetLastError's clearing and saving of errno, was the largest managed cost of a send in
// a profile of ipc-unix-throughput (FlushLocked and the libcoreclr frames under it, a fifth of the sender's own
// time). The price: a GC suspension waits for the call to return. The descriptor is non-blocking, so the call never
// waits for room or for the reader; it copies at most 4 KiB and may wait only for a lock that a reader holds while it
// copies out (the pipe's mutex, the TCP socket's lock), microseconds, as IpcSemaphore's sem_post (its "The fast path")
// may. Larger writes, which copy more, keep the transition. Rejected: the same for read(2), which asks for as much
// as the buffer holds (so one call takes many frames) and would copy up to that much without the transition.
//
// Ownership: the outbox and the state fields are guarded by _gate. TryFlush and TryPut run under the channel's lock
// too (lock order: channel, then gate); the closing flush runs outside the channel lock, after the channel closed.

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Weft.Channels;
using Weft.Ipc.Framing;
using Weft.Ipc.Interop;

namespace Weft.Ipc.Streams;

internal abstract class StreamSenderBase
{
    private readonly Lock _gate = new();
    private readonly byte[] _outbox;
    private int _start, _end;   // the bytes not yet written: _outbox[_start.._end); guarded by _gate
    private bool _broken;       // the kernel refused the stream (EPIPE, ECONNRESET...): nothing more goes out
    private bool _endQueued;    // a close or error frame is in the outbox
    private bool _closing;      // the channel closed: flushing the end, then release
    private bool _released;
    private Exception? _error;

    private protected readonly StreamConnection Connection;
    private protected readonly int MaxFrame;

    private protected StreamSenderBase(StreamConnection connection, ulong fingerprint, int maxFrame)
    {
        Connection = connection;
        MaxFrame = maxFrame;
        _outbox = new byte[Math.Max(FrameFormat.HelloSize, FrameFormat.HeaderSize + maxFrame) + FrameFormat.HeaderSize + FrameFormat.MaxErrorText];
        FrameFormat.WriteHello(_outbox, fingerprint, maxFrame);
        _end = FrameFormat.HelloSize;
        connection.Sender = this;
    }

    public Exception? Error => Volatile.Read(ref _error);

    public bool LooksWritable => !Volatile.Read(ref _broken) && Volatile.Read(ref _start) == Volatile.Read(ref _end);

    public bool ArmSend() => Connection.ArmWrite();

    public TransportStatus TryFlush()
    {
        lock (_gate) return FlushLocked();
    }

    /// <summary>Encodes one frame into the emptied outbox with <paramref name="encode"/> and writes it. Under the channel lock.</summary>
    private protected TransportStatus PutLocked<TState>(TState state, Func<TState, Span<byte>, int> encode, Func<TState, long> length)
    {
        lock (_gate)
        {
            var status = FlushLocked();
            if (status != TransportStatus.Done) return status;
            int n = encode(state, _outbox.AsSpan(FrameFormat.HeaderSize, MaxFrame));
            if (n < 0)
            {
                long need = length(state);
                string what = need < 0 ? "A null value" : $"A value of {need} bytes";
                var error = new ArgumentException(
                    $"{what} cannot be sent: this endpoint's frames carry from 0 to {MaxFrame} bytes (its maximum frame size, and the codec's). "
                    + "The endpoint is closed, and the peer receives an error frame that says so.");
                QueueEndLocked(FrameFormat.KindError, error.Message);
                Volatile.Write(ref _error, error);
                return TransportStatus.Closed;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(_outbox, (uint)n);
            _outbox[4] = FrameFormat.KindData;
            _end = FrameFormat.HeaderSize + n;
            status = FlushLocked();
            if (status == TransportStatus.NotReady) ArmForOutboxLocked();
            return status == TransportStatus.Closed ? TransportStatus.Closed : TransportStatus.Done;
        }
    }

    /// <summary>
    /// The frame just put waits in the outbox (the kernel is full). The channel's pump arms write readiness only while
    /// a sender waits, so with none left the frame would wait for a next send that may never come, though its send
    /// completed. So arm for it here (a lock-free state change, safe under the locks); the readiness flushes it
    /// (OnWritable). An edge that came before the arm makes it say so, and the flush is retried at once.
    /// </summary>
    private void ArmForOutboxLocked()
    {
        while (!Connection.ArmWrite())
        {
            if (FlushLocked() != TransportStatus.NotReady) return;
        }
    }

    private unsafe TransportStatus FlushLocked()
    {
        if (_broken) return TransportStatus.Closed;
        fixed (byte* p = _outbox)
        {
            while (_start < _end)
            {
                int length = _end - _start;
                nint n;
                int errno;
                if (length <= Libc.SmallWrite)
                {
                    n = Libc.WriteSmall(Connection.Fd, p + _start, length);
                    errno = n < 0 ? Marshal.GetLastSystemError() : 0; // first thing after the call: see "Small writes"
                }
                else
                {
                    n = Libc.Write(Connection.Fd, p + _start, length);
                    errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
                }
                if (n > 0)
                {
                    Volatile.Write(ref _start, _start + (int)n);
                    continue;
                }
                if (errno == Libc.EINTR) continue;
                if (errno == Libc.EAGAIN) return TransportStatus.NotReady;
                _broken = true;
                Volatile.Write(ref _error, errno is Libc.EPIPE or Libc.ECONNRESET
                    ? new PeerLostException($"The receiving end of this {Kind} is gone ({Errno.Name(errno)}): the peer closed it or exited. "
                        + $"{_end - _start} bytes of the last frame were not delivered.")
                    : Errno.Fail("write", null, errno));
                return TransportStatus.Closed;
            }
        }
        _start = 0;
        Volatile.Write(ref _end, 0);
        return TransportStatus.Done;
    }

    private void QueueEndLocked(byte kind, string text)
    {
        if (_endQueued || _broken) return;
        _endQueued = true;
        int len = kind == FrameFormat.KindError
            ? System.Text.Encoding.UTF8.GetBytes(text.AsSpan(0, Math.Min(text.Length, FrameFormat.MaxErrorText / 4)), _outbox.AsSpan(_end + FrameFormat.HeaderSize))
            : 0;
        BinaryPrimitives.WriteUInt32LittleEndian(_outbox.AsSpan(_end), (uint)len);
        _outbox[_end + 4] = kind;
        Volatile.Write(ref _end, _end + FrameFormat.HeaderSize + len);
    }

    /// <summary>A pipe or a socket, for messages.</summary>
    private protected abstract string Kind { get; }

    /// <summary>The channel closed: queue the close frame and flush it out, then release. Outside the channel lock, once.</summary>
    public void OnChannelClosed()
    {
        lock (_gate)
        {
            QueueEndLocked(FrameFormat.KindClose, "");
            _closing = true;
        }
        ContinueClosing();
    }

    /// <summary>The netpoller's write readiness: the closing flush, or the channel's pump.</summary>
    internal void OnWritable()
    {
        bool closing;
        lock (_gate) closing = _closing;
        if (closing)
        {
            ContinueClosing();
            return;
        }
        lock (_gate)
        {
            if (!_closing && _start < _end && FlushLocked() == TransportStatus.NotReady) ArmForOutboxLocked();
        }
        Owner?.OnSendReady();
    }

    private protected IChanTransportOwner? Owner;

    private void ContinueClosing()
    {
        while (true)
        {
            bool release;
            lock (_gate)
            {
                if (_released) return;
                release = FlushLocked() != TransportStatus.NotReady || !Connection.Poll.IsRegistered;
                _released = release;
            }
            if (release)
            {
                Connection.Release();
                return;
            }
            if (Connection.ArmWrite()) return; // the next write readiness continues
        }
    }
}
