// IpcChild, the child's side: open the pipe ends the parent passed down (IpcChild.cs says how they got here).
//
// An open reads the environment variable, checks it strictly, and only then owns the descriptor:
//   * absent: this process was not started with that channel (InvalidOperationException naming the variable and the
//     parent-side method that sets it);
//   * not a decimal number of 0 or more: the value is quoted;
//   * not open (fcntl F_GETFD says EBADF), not a pipe (statx), or open for the wrong direction (F_GETFL): an error
//     naming the variable, the number and what was found, before anything is changed;
//   * a second open of the same variable: refused, since two endpoints on one descriptor would each close it.
// Then FD_CLOEXEC and O_NONBLOCK are set (the end came in blocking and inheritable), and the variable is removed
// from this process's environment, so a grandchild started later does not inherit a number that means nothing in
// it, and a second open fails with "not set" plus the reason.
//
// Invariant: a descriptor number is owned by at most one endpoint in this process (s_opened, guarded by s_openLock).

using System.Globalization;
using Weft.Ipc.Framing;
using Weft.Ipc.Interop;
using Weft.Ipc.Streams;

namespace Weft.Ipc;

public static partial class IpcChild
{
    private static readonly Lock s_openLock = new();
    private static readonly HashSet<string> s_opened = []; // variables already opened; guarded by s_openLock

    /// <summary>In a child started by <see cref="Start{TToChild, TFromChild}"/> or <see cref="StartWithSender{T}"/>: opens the channel from the parent.</summary>
    /// <typeparam name="T">What the parent sends.</typeparam>
    /// <param name="codec">How values are read; its fingerprint must match the parent's codec (checked by the hello).</param>
    /// <param name="maxFrameSize">The largest payload of one frame, in bytes: 1 to 16 MiB, at least the parent's.</param>
    /// <returns>The receiver. When the parent closes its sender, receives return ok = false after every value sent before;
    /// when the parent dies without closing, ok = false and <see cref="IpcReceiver{T}.Error"/> is a <see cref="PeerLostException"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException"><see cref="ToChildVariable"/> is not set, is not a descriptor number,
    /// names a descriptor that is not open, not a pipe or not a read end, or was opened already. The message names the variable and the value.</exception>
    /// <exception cref="IpcException">fcntl or statx failed otherwise.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Opening does not wait and cannot be cancelled.</remarks>
    /// <example><code>
    /// using var input = IpcChild.OpenReceiverFromParent(IpcCodec.Unmanaged&lt;int&gt;());
    /// await foreach (int job in input.Channel) Handle(job);
    /// </code></example>
    public static IpcReceiver<T> OpenReceiverFromParent<T>(IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        FrameFormat.CheckMaxFrameSize(maxFrameSize, nameof(maxFrameSize));
        var fd = OpenInherited(ToChildVariable, wantWrite: false, nameof(StartWithSender));
        return new IpcReceiver<T>(new StreamConnection(fd, directions: 1), codec, maxFrameSize, "pipe from parent");
    }

    /// <summary>In a child started by <see cref="Start{TToChild, TFromChild}"/> or <see cref="StartWithReceiver{T}"/>: opens the channel to the parent.</summary>
    /// <typeparam name="T">What the child sends.</typeparam>
    /// <param name="codec">How values become bytes; its fingerprint must match the parent's codec (checked by the hello).</param>
    /// <param name="maxFrameSize">The largest payload of one frame, in bytes: 1 to 16 MiB, at most the parent's.</param>
    /// <returns>The sender. Close its channel (or dispose it) before exiting: the parent then sees ok = false with no error;
    /// a child that exits without closing looks to the parent like one that crashed (<see cref="PeerLostException"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException"><see cref="FromChildVariable"/> is not set, is not a descriptor number,
    /// names a descriptor that is not open, not a pipe or not a write end, or was opened already. The message names the variable and the value.</exception>
    /// <exception cref="IpcException">fcntl or statx failed otherwise.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Opening does not wait and cannot be cancelled.</remarks>
    /// <example><code>
    /// using var output = IpcChild.OpenSenderToParent(IpcCodec.Unmanaged&lt;long&gt;());
    /// await output.Channel.SendAsync(42L);
    /// output.Channel.Close(); // the parent sees ok = false, Error null
    /// </code></example>
    public static IpcSender<T> OpenSenderToParent<T>(IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        FrameFormat.CheckMaxFrameSize(maxFrameSize, nameof(maxFrameSize));
        var fd = OpenInherited(FromChildVariable, wantWrite: true, nameof(StartWithReceiver));
        return new IpcSender<T>(new StreamConnection(fd, directions: 1), codec, maxFrameSize, "pipe to parent");
    }

    private static unsafe FileDescriptor OpenInherited(string variable, bool wantWrite, string parentMethod)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft.Ipc child pipes need Linux (fcntl and epoll).");
        lock (s_openLock)
        {
            string? value = Environment.GetEnvironmentVariable(variable);
            if (value is null)
            {
                throw new InvalidOperationException(s_opened.Contains(variable)
                    ? $"{variable} was opened already in this process: one descriptor can back only one endpoint."
                    : $"{variable} is not set: this process was not started by IpcChild.{nameof(Start)} or IpcChild.{parentMethod} with that channel.");
            }
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
                throw new InvalidOperationException($"{variable} is '{value}': expected a descriptor number (a decimal integer of 0 or more).");
            string what = $"{variable}={fd}";
            if (Libc.Fcntl(fd, Libc.F_GETFD, 0) < 0)
            {
                var e = Errno.Fail("fcntl(F_GETFD)", what);
                if (e.Errno == Libc.EBADF)
                    throw new InvalidOperationException($"{what} names no open descriptor (was it closed, or the variable copied into a process that did not inherit it?).", e);
                throw e;
            }
            Libc.Statx st;
            if (Libc.StatxCall(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &st) != 0) throw Errno.Fail("statx", what);
            if ((st.Mode & Libc.FileTypeMask) != Libc.FileTypeFifo)
                throw new InvalidOperationException($"{what} is not a pipe (file type 0{st.Mode & Libc.FileTypeMask:o}); expected the pipe end its parent passed.");
            int flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
            if (flags < 0) throw Errno.Fail("fcntl(F_GETFL)", what);
            int mode = flags & Libc.O_ACCMODE;
            if (mode != (wantWrite ? Libc.O_WRONLY : Libc.O_RDONLY))
                throw new InvalidOperationException($"{what} is a pipe's {(mode == Libc.O_RDONLY ? "read" : "write")} end; this open needs the {(wantWrite ? "write" : "read")} end.");
            if (Libc.Fcntl(fd, Libc.F_SETFD, Libc.FD_CLOEXEC) != 0) throw Errno.Fail("fcntl(F_SETFD, FD_CLOEXEC)", what);
            if (Libc.Fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) != 0) throw Errno.Fail("fcntl(F_SETFL, O_NONBLOCK)", what);
            Environment.SetEnvironmentVariable(variable, null);
            s_opened.Add(variable);
            return new FileDescriptor(fd);
        }
    }
}
