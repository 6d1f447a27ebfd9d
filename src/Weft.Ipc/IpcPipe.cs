// IpcPipe — an anonymous pipe (pipe2) as a pair of channel endpoints. Today both ends live in this process (the
// building block, and what the tests drive); handing the read or write end to a child process (only that end
// inheritable, released by the parent after the start) is the next step of issue 16.
//
// Both descriptors are made O_CLOEXEC | O_NONBLOCK in the one pipe2 call, so no child started meanwhile inherits
// them and no read or write ever blocks an M. Frames larger than PIPE_BUF (4096 bytes) are not atomic with
// several writers on one pipe; an IpcSender is one writer (its channel serialises its sends), so that matters only
// for a descriptor shared with another process, which this API does not do.

using Weft.Ipc.Framing;
using Weft.Ipc.Interop;
using Weft.Ipc.Streams;

namespace Weft.Ipc;

/// <summary>Anonymous pipes as channel endpoints.</summary>
/// <example><code>
/// var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged&lt;int&gt;());
/// Go.Run(async () =&gt; { for (int i = 0; i &lt; 3; i++) await sender.Channel.SendAsync(i); sender.Channel.Close(); });
/// await foreach (int v in receiver.Channel) Console.WriteLine(v);
/// </code></example>
public static class IpcPipe
{
    /// <summary>Creates a pipe and returns its two ends as a sender and a receiver of framed values.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="codec">How values become bytes (<see cref="IpcCodec"/>).</param>
    /// <param name="maxFrameSize">The largest payload of one frame, in bytes (each end holds a buffer of this size): 1 to 16 MiB.</param>
    /// <returns>The sender (write end) and the receiver (read end). Dispose both.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="IpcException">pipe2 failed (e.g. EMFILE: too many open files); the message names the call and the error.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Making the pipe cannot be cancelled (it does not wait).</remarks>
    /// <example><code>var (sender, receiver) = IpcPipe.Create(IpcCodec.Bytes(1024), maxFrameSize: 1024);</code></example>
    public static unsafe (IpcSender<T> Sender, IpcReceiver<T> Receiver) Create<T>(IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        FrameFormat.CheckMaxFrameSize(maxFrameSize, nameof(maxFrameSize));
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft.Ipc pipes need Linux (pipe2 and epoll).");
        int* fds = stackalloc int[2];
        if (Libc.Pipe2(fds, Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0) throw Errno.Fail("pipe2");
        var readEnd = new FileDescriptor(fds[0]);
        var writeEnd = new FileDescriptor(fds[1]);
        var receiver = new IpcReceiver<T>(new StreamConnection(readEnd, directions: 1), codec, maxFrameSize, "pipe");
        var sender = new IpcSender<T>(new StreamConnection(writeEnd, directions: 1), codec, maxFrameSize, "pipe");
        return (sender, receiver);
    }
}
