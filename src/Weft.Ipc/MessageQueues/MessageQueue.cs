// MessageQueue — one open POSIX message queue descriptor (mqd_t, a real fd on Linux) registered with the netpoller,
// and the transports of its two endpoint kinds. IpcMessageQueue.cs holds the design essay; this file is the
// mechanics.
//
// A message is the codec's payload, nothing else: the kernel keeps message boundaries, so no length prefix and no
// hello are needed. Priority 0 is reserved for the end: an empty message at priority 0 is a clean close, a non-empty
// one carries an error's text (UTF-8). Data goes at priority 1 or more, so the kernel (which delivers the highest
// priority first, FIFO within one) hands the end over only after every data message: the close comes after the drain.
//
// mq_send and mq_receive move one whole message or nothing. The send transport still keeps a one-message outbox,
// because the seam's pump claims a sender after a Done flush and then puts, and that put must not fail (MqSender).
//
// Ownership: TryTake and TryPut run under their channel's lock. The end message (sender) and the release run once,
// after the channel closed; the sender's end may wait for room (write readiness), guarded by _gate. The descriptor
// is unregistered from the netpoller before it is closed (Netpoll.cs), and the creator unlinks the name after.

using System.Runtime.InteropServices;
using System.Text;
using Weft.Channels;
using Weft.Ipc.Interop;
using Weft.Ipc.Streams;
using Weft.Runtime;

namespace Weft.Ipc.MessageQueues;

internal sealed class MessageQueue : IPollHandler, IDisposable
{
    private readonly FileDescriptor _fd;
    private readonly bool _unlinkOnRelease;
    private int _released;

    internal readonly string Name;
    internal readonly int MessageSize;
    internal readonly PollDesc Poll;
    internal IChanTransportOwner? Owner;
    internal MqSender? Closing; // set by a sender whose end waits for room
    internal MqSender? Sender;  // set once by the send transport: write readiness flushes its outbox first

    private int _watchingWrite; // 1 once write readiness was added to the epoll entry (WatchWrite); never removed

    internal MessageQueue(int fd, string name, bool unlinkOnRelease, bool forSending)
    {
        _fd = new FileDescriptor(fd);
        Name = name;
        _unlinkOnRelease = unlinkOnRelease;
        try
        {
            MessageSize = (int)GetAttr().MsgSize;
            // A queue wakes every watcher of its descriptor on every send and receive, without saying which direction
            // changed (IpcMessageQueue.cs, "Readiness"): a receiver watches reads only, a sender nothing until it waits.
            Poll = Netpoll.Register(fd, this, forSending ? PollInterest.None : PollInterest.Read);
        }
        catch
        {
            _fd.Dispose();
            if (unlinkOnRelease) _ = Libc.MqUnlink(name);
            throw;
        }
    }

    internal int Fd => _fd.Fd;

    internal unsafe Libc.MqAttr GetAttr()
    {
        Libc.MqAttr attr;
        if (Libc.MqGetAttr(Fd, &attr) != 0) throw Errno.Fail("mq_getattr", Name);
        return attr;
    }

    /// <summary>
    /// Arms write readiness, first adding it to the epoll entry if the sender never waited before (a system call, once
    /// per descriptor). The kernel looks at the queue while adding it, so room made before the arm is not lost.
    /// </summary>
    internal bool ArmWrite()
    {
        if (Volatile.Read(ref _watchingWrite) == 0 && Interlocked.Exchange(ref _watchingWrite, 1) == 0)
        {
            Netpoll.Watch(Poll, PollInterest.Write);
        }
        return Poll.ArmWrite();
    }

    public void OnReadable() => Owner?.OnReceiveReady();

    public void OnWritable()
    {
        if (Volatile.Read(ref Closing) is { } closing) closing.ContinueClosing();
        else
        {
            Sender?.FlushOutboxOnReadiness();
            Owner?.OnSendReady();
        }
    }

    public void Dispose() => Release();

    /// <summary>Unregisters, closes, and (the creator) unlinks the name. Once.</summary>
    internal void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        Netpoll.Unregister(Poll);
        _fd.Dispose();
        if (_unlinkOnRelease) _ = Libc.MqUnlink(Name); // ENOENT: someone unlinked it already, which is what we wanted
    }
}

/// <summary>A receive endpoint's transport: one mq_receive per value into a buffer of the queue's message size.</summary>
internal sealed class MqReceiver<T>(MessageQueue queue, IpcCodec<T> codec) : IReceiveTransport<T>
{
    private readonly byte[] _buffer = new byte[queue.MessageSize];
    private bool _ended;
    private Exception? _error;

    public Exception? Error => Volatile.Read(ref _error);

    public bool LooksReadable => queue.Poll.LooksReadable;

    public void Attach(IChanTransportOwner owner) => queue.Owner = owner;

    public bool ArmReceive() => queue.Poll.ArmRead();

    public unsafe TransportStatus TryTake(out T value)
    {
        value = default!;
        if (_ended) return TransportStatus.Closed;
        while (true)
        {
            uint priority;
            nint n;
            fixed (byte* p = _buffer) n = Libc.MqReceive(queue.Fd, p, _buffer.Length, &priority);
            if (n >= 0)
            {
                var payload = _buffer.AsSpan(0, (int)n);
                if (priority == 0)
                {
                    return End(n == 0 ? null : new IpcProtocolException(
                        $"The sender closed message queue {queue.Name} with an error (its text, cut to the queue's message size of {queue.MessageSize} bytes): {Encoding.UTF8.GetString(payload)}"));
                }
                value = codec.Decode(payload, out string? error);
                if (error is not null) return End(new IpcProtocolException($"{error} (message queue {queue.Name}; this endpoint is closed)"));
                return TransportStatus.Done;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR) continue;
            if (errno == Libc.EAGAIN) return TransportStatus.NotReady;
            return End(Errno.Fail("mq_receive", queue.Name, errno));
        }
    }

    private TransportStatus End(Exception? error)
    {
        _ended = true;
        Volatile.Write(ref _error, error);
        return TransportStatus.Closed;
    }

    public void OnChannelClosed() => queue.Release();
}

/// <summary>
/// The part of a send transport that does not depend on T: the one-message outbox, the end message and the release.
/// The seam's rule (Chan.Transport.cs) is that a put after a Done flush cannot say NotReady, so a message the kernel
/// refused with EAGAIN waits in the outbox ("send completed" = the kernel or the outbox has it), and the next flush
/// or put sends it first; the end message goes after it.
/// </summary>
internal abstract class MqSender(MessageQueue queue, uint priority)
{
    private readonly Lock _gate = new();
    private readonly byte[] _outbox = new byte[queue.MessageSize];
    private int _pending = -1; // the outbox's message length; -1: empty. Guarded by _gate
    private bool _broken;      // the kernel refused a send: nothing more goes out
    private bool _done;
    private byte[] _end = [];  // empty: a clean close; else an error's text
    private Exception? _error;

    private protected MessageQueue Queue => queue;

    public Exception? Error => Volatile.Read(ref _error);

    public bool LooksWritable => Volatile.Read(ref _pending) < 0 && !Volatile.Read(ref _broken);

    public TransportStatus TryFlush()
    {
        lock (_gate) return FlushLocked();
    }

    /// <summary>Flushes, encodes with <paramref name="encode"/> (the byte count, or -1: too large) and sends. Under the channel lock.</summary>
    private protected TransportStatus PutLocked<TState>(TState state, Func<TState, Span<byte>, int> encode, Func<TState, long> length)
    {
        lock (_gate)
        {
            var status = FlushLocked();
            if (status != TransportStatus.Done) return status;
            int n = encode(state, _outbox);
            if (n < 0)
            {
                long need = length(state);
                string what = need < 0 ? "A null value" : $"A value of {need} bytes";
                var error = new ArgumentException(
                    $"{what} cannot be sent on message queue {queue.Name}: its messages carry at most {queue.MessageSize} bytes "
                    + "(the queue's message size). The endpoint is closed, and the receiver gets an error that says so.");
                _end = Encoding.UTF8.GetBytes(error.Message.Length > 512 ? error.Message[..512] : error.Message);
                Volatile.Write(ref _error, error);
                return TransportStatus.Closed;
            }
            Volatile.Write(ref _pending, n);
            status = FlushLocked();
            if (status == TransportStatus.NotReady) ArmForOutboxLocked();
            return status == TransportStatus.Closed ? TransportStatus.Closed : TransportStatus.Done;
        }
    }

    /// <summary>
    /// The value just put waits in the outbox (the queue was full). The channel's pump arms write readiness only while
    /// a sender waits, so with none left the outbox would wait for a next send that may never come, and the receiver
    /// for a value whose send completed. So the transport arms for it itself (Arm is a lock-free state change, safe
    /// under the locks), and the readiness flushes it (<see cref="FlushOutboxOnReadiness"/>); an edge that came first
    /// makes the arm say so, and the flush is retried here at once.
    /// </summary>
    private void ArmForOutboxLocked()
    {
        while (!queue.ArmWrite())
        {
            if (FlushLocked() != TransportStatus.NotReady) return;
        }
    }

    /// <summary>Write readiness (MessageQueue.OnWritable, outside every lock): flush a waiting outbox, arming again if the queue is still full.</summary>
    internal void FlushOutboxOnReadiness()
    {
        lock (_gate)
        {
            if (_pending < 0 || _done) return;
            if (FlushLocked() == TransportStatus.NotReady) ArmForOutboxLocked();
        }
    }

    private unsafe TransportStatus FlushLocked()
    {
        if (_broken) return TransportStatus.Closed;
        while (_pending >= 0)
        {
            int rc;
            fixed (byte* p = _outbox) rc = Libc.MqSend(queue.Fd, p, _pending, priority);
            if (rc == 0)
            {
                Volatile.Write(ref _pending, -1);
                break;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR) continue;
            if (errno == Libc.EAGAIN) return TransportStatus.NotReady;
            _broken = true;
            Volatile.Write(ref _error, Errno.Fail("mq_send", queue.Name, errno));
            return TransportStatus.Closed;
        }
        return TransportStatus.Done;
    }

    public bool ArmSend() => queue.ArmWrite();

    public void OnChannelClosed()
    {
        Volatile.Write(ref queue.Closing, this);
        ContinueClosing();
    }

    /// <summary>Flushes the outbox, then sends the end message at priority 0, waiting for room through the netpoller; then releases.</summary>
    internal unsafe void ContinueClosing()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_done) return;
                if (!queue.Poll.IsRegistered) _done = true;
                else if (FlushLocked() == TransportStatus.Closed) _done = true; // broken: nothing more can go out
                else if (_pending < 0)
                {
                    while (true)
                    {
                        int rc;
                        fixed (byte* p = _end) rc = Libc.MqSend(queue.Fd, p, Math.Min(_end.Length, queue.MessageSize), 0);
                        int errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
                        if (errno == Libc.EINTR) continue;
                        _done = errno != Libc.EAGAIN; // sent, or the queue refuses (nothing more can go out)
                        break;
                    }
                }
            }
            if (Volatile.Read(ref _done))
            {
                queue.Release();
                return;
            }
            if (queue.ArmWrite()) return; // the next write readiness continues
        }
    }
}

/// <summary>A send endpoint's transport: one mq_send per value, at the endpoint's priority.</summary>
internal sealed class MqSender<T>(MessageQueue queue, IpcCodec<T> codec, uint priority) : MqSender(queue, priority), ISendTransport<T>
{
    private static readonly Func<(IpcCodec<T> Codec, T Value), Span<byte>, int> s_encode = static (s, span) => s.Codec.Encode(s.Value, span);
    private static readonly Func<(IpcCodec<T> Codec, T Value), long> s_length = static s => s.Codec.EncodedLength(s.Value);

    public void Attach(IChanTransportOwner owner)
    {
        Queue.Owner = owner;
        Queue.Sender = this;
    }

    public TransportStatus TryPut(T value) => PutLocked((codec, value), s_encode, s_length);
}
