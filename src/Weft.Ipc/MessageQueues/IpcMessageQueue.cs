// IpcMessageQueue — a POSIX message queue (mq_open) as a channel endpoint: an IpcSender<T> or IpcReceiver<T> whose
// Chan<T> runs over the transport seam (Chan.Transport.cs), so select, close, cancellation, await foreach and the
// adapters work as on a pipe.
//
// Why a message queue at all: it is the one kernel object that keeps message boundaries and priorities between
// unrelated processes by name, with a capacity the kernel enforces (back-pressure without a reader's buffer). And on
// Linux an mqd_t is a file descriptor that epoll can watch: readable while a message waits, writable while there is
// room. So it plugs into the netpoller exactly as a pipe does, and no thread ever blocks in mq_receive.
//
// The rules:
//   * create = mq_open(O_CREAT | O_EXCL, 0600): a name that exists is an error (never adopt a queue someone else
//     made, with their limits and permissions), and only this user can open it. Open = the name must exist.
//     Every descriptor is O_NONBLOCK (and close-on-exec: the kernel always makes mq descriptors so).
//   * capacity and message size are checked before the call against /proc/sys/fs/mqueue/msg_max and msgsize_max,
//     and the error names the sysctl: the kernel's own answer (EINVAL) does not say which limit; ENOSPC (too many
//     queues) is turned into an error naming fs.mqueue.queues_max, EMFILE into one naming RLIMIT_MSGQUEUE;
//   * data goes at the sender's priority (1 to 32767, default 1); the kernel delivers the highest priority first,
//     FIFO within one, so values of one sender arrive in order, and a more urgent sender overtakes;
//   * close: the sender's Close (or Dispose) sends an empty message at priority 0, which the kernel delivers after
//     every data message, so the receiver closes after the drain (Error null). A sender that closed on an error
//     (a value too large) sends the error's text instead, and the receiver's Error is an IpcProtocolException;
//   * the creator unlinks the name when its endpoint is released; descriptors already open keep the queue alive
//     (the kernel's rule), so a peer that opened it still drains it.
//
// Readiness: a queue's poll reports both directions whatever the descriptor's access mode, and every mq_send and
// mq_receive wakes all its watchers without saying which direction changed. Watching both directions on both ends
// (as a pipe's descriptor is) made each message wake the other side's epoll_wait for nothing: the sender's own send
// (now readable) and the peer's receive (now writable) each delivered an edge, which woke a blocked poller, ran the
// handlers, and left a stale Ready that cost the next wait an extra EAGAIN and arm. So a receiver's descriptor is
// registered for reads only, and a sender's for nothing (an epoll entry without events is never queued and wakes no
// one) until it first has to wait for room; then write readiness is added (EPOLL_CTL_MOD, once, MessageQueue.ArmWrite)
// and kept, because a queue that filled once tends to fill again, and a MOD per wait would cost more than the edges.
//
// What a queue cannot do, written down: there is no EOF, so a sender that dies without its close message leaves the
// receiver waiting (no PeerLost; pair the queue with a pipe or pidfd when that matters), and with several senders
// the first close message closes the receiver. Messages carry no codec fingerprint (a hello has nowhere to go in a
// queue that several senders share); the codec rejects a payload of the wrong size, which closes the receiver with
// an IpcProtocolException.
//
// Rejected: a pump thread per queue blocked in mq_receive (a thread per endpoint, and it takes messages before
// anyone asked: one is lost if the process dies); mq_notify with SIGEV_THREAD (glibc runs a new thread per
// notification, and it fires only on the empty-to-non-empty transition for one registered process).

using Weft.Ipc.Interop;
using Weft.Ipc.MessageQueues;

namespace Weft.Ipc;

/// <summary>POSIX message queues as channel endpoints (Linux).</summary>
/// <example><code>
/// using var receiver = IpcMessageQueue.CreateReceiver("/jobs", IpcCodec.Unmanaged&lt;long&gt;(), capacity: 10, maxMessageSize: 8);
/// using var sender = IpcMessageQueue.OpenSender("/jobs", IpcCodec.Unmanaged&lt;long&gt;()); // usually in another process
/// await sender.Channel.SendAsync(42);
/// long job = await receiver.Channel.ReceiveAsync();
/// </code></example>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "POSIX's own name for the object (mq_overview(7)); it is not a .NET queue collection.")]
public static class IpcMessageQueue
{
    /// <summary>The priority data is sent at unless a sender asks for another.</summary>
    public const int DefaultPriority = 1;

    /// <summary>The highest priority a sender may use (the kernel's MQ_PRIO_MAX - 1).</summary>
    public const int MaxPriority = 32767;

    private const string MsgMax = "/proc/sys/fs/mqueue/msg_max";
    private const string MsgSizeMax = "/proc/sys/fs/mqueue/msgsize_max";

    /// <summary>Creates a queue (mode 0600; it must not exist) and returns its receiving end. Disposing it unlinks the name.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="name">The queue's name: an optional leading '/', then 1 to 254 characters without '/'.</param>
    /// <param name="codec">How values become messages (<see cref="IpcCodec"/>); every sender must use the same.</param>
    /// <param name="capacity">Messages the queue holds before senders wait: 1 to /proc/sys/fs/mqueue/msg_max.</param>
    /// <param name="maxMessageSize">The largest message, in bytes: 1 to /proc/sys/fs/mqueue/msgsize_max.</param>
    /// <returns>The receiver; dispose it to close the channel and remove the name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> or <paramref name="maxMessageSize"/> is out of range; the message names the sysctl that sets the limit.</exception>
    /// <exception cref="IpcException">mq_open failed: EEXIST (the name is taken), ENOSPC (fs.mqueue.queues_max reached), EMFILE (RLIMIT_MSGQUEUE or descriptors); the message says which.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Creating does not wait: nothing to cancel. Receives are cancellable and exact (a cancelled receive took nothing).</remarks>
    /// <example><code>using var inbox = IpcMessageQueue.CreateReceiver("/inbox", IpcCodec.Bytes(4096), capacity: 10, maxMessageSize: 4096);</code></example>
    public static IpcReceiver<T> CreateReceiver<T>(string name, IpcCodec<T> codec, int capacity, int maxMessageSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var queue = Open(name, Libc.O_RDONLY, create: true, capacity, maxMessageSize);
        return new IpcReceiver<T>(new MqReceiver<T>(queue, codec));
    }

    /// <summary>Opens an existing queue's receiving end.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="name">The queue's name (see <see cref="CreateReceiver{T}"/>).</param>
    /// <param name="codec">The codec the senders use.</param>
    /// <returns>The receiver; disposing it closes this descriptor and leaves the name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="IpcException">mq_open failed (ENOENT: no such queue; EACCES: another user's queue).</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Opening does not wait: nothing to cancel.</remarks>
    /// <example><code>using var r = IpcMessageQueue.OpenReceiver("/inbox", IpcCodec.Bytes(4096));</code></example>
    public static IpcReceiver<T> OpenReceiver<T>(string name, IpcCodec<T> codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return new IpcReceiver<T>(new MqReceiver<T>(Open(name, Libc.O_RDONLY, create: false, 0, 0), codec));
    }

    /// <summary>Creates a queue (mode 0600; it must not exist) and returns a sending end. Disposing it sends the close message, then unlinks the name.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="name">The queue's name (see <see cref="CreateReceiver{T}"/>).</param>
    /// <param name="codec">How values become messages.</param>
    /// <param name="capacity">Messages the queue holds: 1 to /proc/sys/fs/mqueue/msg_max.</param>
    /// <param name="maxMessageSize">The largest message: 1 to /proc/sys/fs/mqueue/msgsize_max.</param>
    /// <param name="priority">This sender's priority, 1 to <see cref="MaxPriority"/> (0 is the close message's).</param>
    /// <returns>The sender.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit or the priority is out of range; the message names the sysctl or the range.</exception>
    /// <exception cref="IpcException">mq_open failed (see <see cref="CreateReceiver{T}"/>).</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Sends wait while the queue is full, and are cancellable and exact (a cancelled send delivered nothing).</remarks>
    /// <example><code>using var s = IpcMessageQueue.CreateSender("/events", IpcCodec.Unmanaged&lt;int&gt;(), 10, 4, priority: 5);</code></example>
    public static IpcSender<T> CreateSender<T>(string name, IpcCodec<T> codec, int capacity, int maxMessageSize, int priority = DefaultPriority)
    {
        ArgumentNullException.ThrowIfNull(codec);
        CheckPriority(priority);
        var queue = Open(name, Libc.O_WRONLY, create: true, capacity, maxMessageSize);
        return new IpcSender<T>(new MqSender<T>(queue, codec, (uint)priority));
    }

    /// <summary>Opens an existing queue's sending end.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="name">The queue's name.</param>
    /// <param name="codec">The codec the receiver uses.</param>
    /// <param name="priority">This sender's priority, 1 to <see cref="MaxPriority"/>: higher is received first.</param>
    /// <returns>The sender; its Close (or Dispose) sends the close message after its data.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="priority"/> is not from 1 to <see cref="MaxPriority"/>.</exception>
    /// <exception cref="IpcException">mq_open failed (ENOENT: no such queue; EACCES: another user's queue).</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Opening does not wait: nothing to cancel.</remarks>
    /// <example><code>using var urgent = IpcMessageQueue.OpenSender("/inbox", IpcCodec.Bytes(4096), priority: 10);</code></example>
    public static IpcSender<T> OpenSender<T>(string name, IpcCodec<T> codec, int priority = DefaultPriority)
    {
        ArgumentNullException.ThrowIfNull(codec);
        CheckPriority(priority);
        return new IpcSender<T>(new MqSender<T>(Open(name, Libc.O_WRONLY, create: false, 0, 0), codec, (uint)priority));
    }

    private static void CheckPriority(int priority)
    {
        if (priority < 1 || priority > MaxPriority)
        {
            throw new ArgumentOutOfRangeException(nameof(priority), priority,
                $"A sender's priority must be from 1 to {MaxPriority}; it was {priority} (priority 0 carries the close message).");
        }
    }

    /// <summary>"/name" from "name" or "/name"; throws for anything else.</summary>
    internal static string NormalizeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string bare = name.StartsWith('/') ? name[1..] : name;
        if (bare.Length is 0 or > 254 || bare.Contains('/') || bare is "." or ".." || bare.Contains('\0'))
        {
            throw new ArgumentException(
                $"A message queue's name is an optional '/' then 1 to 254 characters without '/' or NUL (not \".\" or \"..\"); it was \"{name}\".",
                nameof(name));
        }
        return "/" + bare;
    }

    /// <summary>The first number in a /proc file, or null when it cannot be read.</summary>
    internal static long? ReadLimit(string path)
    {
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), out long v) ? v : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Checks <paramref name="value"/> against a sysctl limit (when it can be read) with an error naming it.</summary>
    internal static void CheckLimit(int value, long? limit, string path, string paramName, string what)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(paramName, value, $"A message queue's {what} must be at least 1; it was {value}.");
        if (limit is { } max && value > max)
        {
            string sysctl = path["/proc/sys/".Length..].Replace('/', '.');
            throw new ArgumentOutOfRangeException(paramName, value,
                $"A message queue's {what} of {value} is over this system's limit of {max} ({path}); ask for at most {max}, or raise it (sysctl -w {sysctl}=N, as root).");
        }
    }

    private static unsafe MessageQueue Open(string name, int access, bool create, int capacity, int maxMessageSize)
    {
        string path = NormalizeName(name);
        if (create)
        {
            CheckLimit(capacity, ReadLimit(MsgMax), MsgMax, nameof(capacity), "capacity");
            CheckLimit(maxMessageSize, ReadLimit(MsgSizeMax), MsgSizeMax, nameof(maxMessageSize), "message size");
        }
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft.Ipc message queues need Linux (mq_open and epoll).");
        var attr = new Libc.MqAttr { MaxMsg = capacity, MsgSize = maxMessageSize };
        int flags = access | Libc.O_NONBLOCK | (create ? Libc.O_CREAT | Libc.O_EXCL : 0);
        int fd = Libc.MqOpen(path, flags, 0x180 /* 0600 */, create ? &attr : null);
        if (fd < 0) throw OpenFailed(path, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        return new MessageQueue(fd, path, unlinkOnRelease: create, forSending: access == Libc.O_WRONLY);
    }

    internal static IpcException OpenFailed(string path, int errno)
    {
        string hint = errno switch
        {
            Libc.EEXIST => " A queue of that name exists: open it (Open*) instead, pick another name, or remove the stale one.",
            2 => " No queue of that name exists: the creator makes it (Create*).",
            28 => " The system's number of queues is at its limit (/proc/sys/fs/mqueue/queues_max): close queues, or raise fs.mqueue.queues_max.",
            24 => " This user's message queue memory (RLIMIT_MSGQUEUE, ulimit -q) or this process's descriptors are used up.",
            22 => " The kernel refused the capacity or message size (/proc/sys/fs/mqueue/msg_max, msgsize_max).",
            _ => "",
        };
        return new IpcException("mq_open", path, errno, Errno.Describe("mq_open", path, errno) + hint);
    }
}
