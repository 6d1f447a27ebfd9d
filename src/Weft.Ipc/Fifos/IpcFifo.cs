// IpcFifo — a named pipe (FIFO) as a channel endpoint: the same stream framing and transports as an anonymous pipe
// (Streams/), reached by a path, so two unrelated processes can meet without a parent handing out descriptors.
//
// The rules:
//   * the path: created with mkfifo(0600) if it does not exist; if it exists it must be a FIFO owned by this user,
//     and never a symlink. lstat (statx with AT_SYMLINK_NOFOLLOW) before the open gives the clear error; the open
//     itself uses O_NOFOLLOW, and fstat of the opened descriptor checks type and owner again, so a path swapped
//     between the check and the open is still refused (no window for a symlink or another user's FIFO);
//   * every open is O_NONBLOCK | O_CLOEXEC, so no open ever blocks an M:
//       - the reader's open succeeds at once; OpenReceiverAsync then waits (through the netpoller, cancellable) for
//         the first writer: until one connected, read(2) on a FIFO says 0, which the stream reader would take for a
//         lost peer. The writer writes its hello as soon as it is open, so "readable" means "a writer is there";
//       - the writer's open fails with ENXIO while no reader has the FIFO open; OpenSenderAsync retries with
//         back-off (1 ms doubling to 50 ms), awaiting between tries (a goroutine parks, an M stays free), and is
//         cancellable at every wait;
//   * after that, the stream rules of Framing/FrameFormat.cs hold: the writer's Close sends a close frame (the
//     reader closes after the drain); a writer that dies without one gives the reader a PeerLostException.
//
// Several writers on one FIFO interleave their bytes (atomic only up to PIPE_BUF, 4096 bytes), and each sends its
// own hello: one writer per FIFO is the supported shape, as for the anonymous pipe.
//
// Rejected: a blocking open on a pool thread (a thread held per waiting endpoint, and not cancellable: a blocked
// open(2) can only be interrupted by a signal); inotify to learn when a reader arrives (a reader's open is not an
// inotify event); the reader holding a dummy write descriptor to suppress EOF (then a dead writer is never seen).

using System.Runtime.InteropServices;
using Weft.Ipc.Framing;
using Weft.Ipc.Interop;
using Weft.Ipc.Streams;
using Weft.Runtime;

namespace Weft.Ipc;

/// <summary>Named pipes (FIFOs) as channel endpoints (Linux).</summary>
/// <example><code>
/// // process A
/// using var receiver = await IpcFifo.OpenReceiverAsync("/run/user/1000/app.fifo", IpcCodec.Unmanaged&lt;long&gt;());
/// await foreach (long v in receiver.Channel) Console.WriteLine(v);
/// // process B
/// using var sender = await IpcFifo.OpenSenderAsync("/run/user/1000/app.fifo", IpcCodec.Unmanaged&lt;long&gt;());
/// await sender.Channel.SendAsync(42);
/// sender.Channel.Close();
/// </code></example>
public static class IpcFifo
{
    private const int Mode0600 = 0x180;
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Opens (creating it with mode 0600 if needed) the FIFO at <paramref name="path"/> for reading, and waits until a
    /// writer has connected.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="path">The FIFO's path. If it exists it must be a FIFO owned by this user, not a symlink.</param>
    /// <param name="codec">How values become bytes; the writer must use the same.</param>
    /// <param name="maxFrameSize">The largest payload of one frame, 1 to 16 MiB; the writer's must not be larger.</param>
    /// <param name="cancellationToken">Cancels the wait for a writer; the descriptor is then closed (the FIFO stays).</param>
    /// <returns>The receiver; dispose it to close the descriptor (the path stays: remove it yourself when done).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="IOException">The path is a symlink, is not a FIFO, or belongs to another user (the message says which).</exception>
    /// <exception cref="IpcException">mkfifo, statx or open failed (e.g. ENOENT: the directory does not exist); the message names the call and the path.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a writer came.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <example><code>using var r = await IpcFifo.OpenReceiverAsync(path, IpcCodec.Bytes(4096), maxFrameSize: 4096, token);</code></example>
    public static async ValueTask<IpcReceiver<T>> OpenReceiverAsync<T>(string path, IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize, CancellationToken cancellationToken = default)
    {
        Prepare(path, codec, maxFrameSize);
        var fd = OpenChecked(path, Libc.O_RDONLY, Libc.GetUid(), out int openErrno) ?? throw Errno.Fail("open", path, openErrno);
        try
        {
            var waiting = Netpoll.Register(fd.Fd, handler: null);
            try
            {
                // Until a writer connects, the read end reports nothing (no data, and no hang-up before a first
                // writer); the writer's hello makes it readable. A writer that connects and leaves at once makes it
                // readable too (hang-up), and the stream then reports the lost peer.
                await waiting.WaitAsync(write: false, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Netpoll.Unregister(waiting);
            }
            return new IpcReceiver<T>(new StreamConnection(fd, directions: 1), codec, maxFrameSize, "FIFO");
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens (creating it with mode 0600 if needed) the FIFO at <paramref name="path"/> for writing, waiting with
    /// back-off until a reader has it open, and sends the stream's hello.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="path">The FIFO's path. If it exists it must be a FIFO owned by this user, not a symlink.</param>
    /// <param name="codec">How values become bytes; the reader must use the same.</param>
    /// <param name="maxFrameSize">The largest payload of one frame, 1 to 16 MiB; not larger than the reader's.</param>
    /// <param name="cancellationToken">Cancels the wait for a reader (checked at every retry).</param>
    /// <returns>The sender; its Close (or Dispose) sends the close frame.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="IOException">The path is a symlink, is not a FIFO, or belongs to another user.</exception>
    /// <exception cref="IpcException">mkfifo, statx or open failed with anything but ENXIO (no reader yet).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a reader came.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <example><code>
    /// using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)); // give up if no reader comes
    /// using var s = await IpcFifo.OpenSenderAsync(path, IpcCodec.Unmanaged&lt;int&gt;(), cancellationToken: cts.Token);
    /// </code></example>
    public static async ValueTask<IpcSender<T>> OpenSenderAsync<T>(string path, IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize, CancellationToken cancellationToken = default)
    {
        Prepare(path, codec, maxFrameSize);
        uint uid = Libc.GetUid();
        var backoff = s_firstBackoff;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fd = OpenChecked(path, Libc.O_WRONLY, uid, out int errno);
            if (fd is not null)
            {
                try
                {
                    var transport = new StreamSender<T>(new StreamConnection(fd, directions: 1), codec, maxFrameSize, "FIFO");
                    _ = transport.TryFlush(); // the hello now: it tells the waiting reader a writer is here (20 bytes fit an empty FIFO)
                    return new IpcSender<T>(transport);
                }
                catch
                {
                    fd.Dispose();
                    throw;
                }
            }
            if (errno != Libc.ENXIO) throw Errno.Fail("open", path, errno);
            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false); // no reader yet
            backoff = backoff * 2 < s_maxBackoff ? backoff * 2 : s_maxBackoff;
        }
    }

    private static void Prepare<T>(string path, IpcCodec<T> codec, int maxFrameSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(codec);
        FrameFormat.CheckMaxFrameSize(maxFrameSize, nameof(maxFrameSize));
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft.Ipc FIFOs need Linux (mkfifo and epoll).");
        EnsureFifo(path, Libc.GetUid());
    }

    /// <summary>Creates the FIFO (0600) if the path is free; else checks what is there (see <see cref="CheckFifo"/>).</summary>
    internal static unsafe void EnsureFifo(string path, uint uid)
    {
        while (true)
        {
            Libc.Statx st;
            if (Libc.StatxCall(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &st) == 0)
            {
                CheckFifo(path, st.Mode, st.Uid, uid);
                return;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != 2) throw Errno.Fail("statx", path, errno);
            if (Libc.MkFifo(path, Mode0600) == 0) return;
            errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EEXIST) throw Errno.Fail("mkfifo", path, errno); // EEXIST: made meanwhile, check it
        }
    }

    /// <summary>Refuses a symlink, anything but a FIFO, and a FIFO of another user than <paramref name="uid"/>.</summary>
    /// <exception cref="IOException">What is wrong, and what is expected.</exception>
    internal static void CheckFifo(string path, int mode, uint owner, uint uid)
    {
        int type = mode & Libc.FileTypeMask;
        if (type == Libc.FileTypeSymlink)
        {
            throw new IOException($"{path} is a symbolic link; a FIFO endpoint refuses links (another user could point it anywhere). Give the FIFO's own path.");
        }
        if (type != Libc.FileTypeFifo)
        {
            throw new IOException($"{path} exists and is {Describe(type)}, not a FIFO; remove it or choose another path.");
        }
        if (owner != uid)
        {
            throw new IOException($"The FIFO {path} belongs to uid {owner}, not to this process's user (uid {uid}); a FIFO endpoint opens only its own user's FIFOs.");
        }
    }

    private static string Describe(int type) => type switch
    {
        0x8000 => "a regular file",
        0x4000 => "a directory",
        0xC000 => "a socket",
        0x2000 => "a character device",
        0x6000 => "a block device",
        _ => $"of file type 0x{type:X}",
    };

    /// <summary>
    /// Opens <paramref name="path"/> non-blocking, without following a symlink, and checks the opened descriptor is a
    /// FIFO of <paramref name="uid"/>. Null with <paramref name="errno"/> if the open failed.
    /// </summary>
    private static unsafe FileDescriptor? OpenChecked(string path, int access, uint uid, out int errno)
    {
        int raw = Libc.Open(path, access | Libc.O_NONBLOCK | Libc.O_CLOEXEC | Libc.O_NOFOLLOW);
        if (raw < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            if (errno == 40) throw new IOException($"{path} is a symbolic link; a FIFO endpoint refuses links. Give the FIFO's own path."); // ELOOP: swapped in after the check
            return null;
        }
        errno = 0;
        var fd = new FileDescriptor(raw);
        try
        {
            Libc.Statx st;
            if (Libc.StatxCall(raw, "", Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &st) != 0) throw Errno.Fail("statx", path);
            CheckFifo(path, st.Mode, st.Uid, uid);
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }
}
