// IpcChild — anonymous pipes to a child process, as channels: the parent starts the child from a ProcessStartInfo
// and gets a typed sender to it, a receiver from it, or both; the child opens its inherited ends with
// OpenReceiverFromParent / OpenSenderToParent (IpcChild.Inherited.cs). Go's os/exec StdinPipe/StdoutPipe and
// ExtraFiles, with frames and a type check (the hello) instead of raw bytes.
//
// Glossary
//   child's end    the pipe end the child uses (the read end of "to child", the write end of "from child");
//   parent's end   the other end, which becomes the parent's endpoint at once (non-blocking, on the netpoller);
//   the window     the time during which the child's end is inheritable (close-on-exec cleared).
//
// How the child's end gets into the child, and into no other child
//   .NET starts a process on Unix with a fork (or vfork) and execve in native code (System.Native's
//   SystemNative_ForkAndExecProcess): the child dup2s its redirected stdio onto 0-2 and execs; it closes nothing
//   else, so every descriptor without FD_CLOEXEC crosses the exec. Process.Start serialises nothing against other
//   starts: its own lock is taken for reading by every start, and for writing only by the SIGCHLD handler.
//   So: both ends are made by pipe2(O_CLOEXEC), and the child's end has FD_CLOEXEC cleared only inside the window,
//   which is held under s_startLock and closes when the parent releases its copy of the child's end, right after
//   Process.Start returns (which it does after the exec, or after the exec failed). Starts through IpcChild take
//   s_startLock, so two of them never inherit each other's ends.
//   What is not covered: a Process.Start elsewhere in this process (not through IpcChild) that runs inside the
//   window inherits the child's end too. For "from child" that child then holds a write end, so the parent sees EOF
//   only when both have exited; for "to child", a read end it never reads. docs/ipc.md says so.
//   The parent releases its copy of the child's end after the start in every case (success or failure): while it
//   holds the write end of "from child", EOF could never come.
//
// How the child learns its descriptors
//   Two environment variables, set in the ProcessStartInfo for the start and restored after it: WEFT_IPC_TO_CHILD_FD
//   and WEFT_IPC_FROM_CHILD_FD, each a decimal descriptor number. In the child, an open checks the variable (absent,
//   not a number, not an open descriptor, not a pipe, the wrong direction: each a clear error naming the variable
//   and the value), removes it from the environment (so a grandchild started later does not see a number that means
//   nothing to it), sets FD_CLOEXEC and O_NONBLOCK, and makes the endpoint. The child's end is created blocking, so
//   a child that is not a Weft program (a C program reading fd 3) sees ordinary blocking reads and writes.
//
// Frames and PIPE_BUF
//   Each pipe has exactly one writer: the parent's sender, or the child's, whose descriptor is close-on-exec once
//   opened, and which a second open in the same process refuses. Writes to a pipe are atomic among several writers
//   only up to PIPE_BUF (4096 bytes); a descriptor shared with another writer (a fork the user makes) would
//   interleave larger frames. That case is the user's to avoid; the API never creates it.
//
// Rejected
//   * posix_spawn with file actions (adddup2 onto a fixed number, no window at all): it replaces Process.Start, so
//     the Process object (exit code, WaitForExitAsync, Kill) and all of ProcessStartInfo (redirection, environment,
//     working directory, user) would have to be rebuilt here, and .NET's SIGCHLD handling would reap a child it did
//     not start (it reaps every child when it owns SIGCHLD), losing the exit status.
//   * dup onto a fresh non-CLOEXEC descriptor and keep the original close-on-exec: the same window, one more call.
//   * The child opening /proc/<parent>/fd/N, or pidfd_getfd: needs ptrace-level access to the parent (Yama may
//     refuse), and a handshake before the parent may release its copy.
//   * Passing the number as a command-line argument: the arguments are the user's; an environment variable is what
//     systemd (LISTEN_FDS) and Go programs use, and it reaches a child whatever its argument syntax.

using System.Diagnostics;
using System.Globalization;
using Weft.Ipc.Framing;
using Weft.Ipc.Interop;
using Weft.Ipc.Streams;

namespace Weft.Ipc;

/// <summary>
/// Anonymous pipes to and from a child process, as channels. The parent starts the child with <see cref="Start{TToChild, TFromChild}"/>,
/// <see cref="StartWithSender{T}"/> or <see cref="StartWithReceiver{T}"/>; the child opens its ends with
/// <see cref="OpenReceiverFromParent{T}"/> and <see cref="OpenSenderToParent{T}"/>.
/// </summary>
/// <remarks>
/// <para>Only the child's end of each pipe is inherited, and only by this child: every other descriptor Weft makes
/// is close-on-exec, and starts through <see cref="IpcChild"/> are serialised while the child's end is inheritable.
/// A <see cref="Process.Start(ProcessStartInfo)"/> elsewhere in the process that runs at the same moment may inherit it too
/// (docs/ipc.md, "Pipes to a child process").</para>
/// <para>The parent releases its copy of the child's end once the child has started, so the parent's receiver sees
/// the end of the stream when the child exits: a close frame if the child closed its sender (ok = false, Error
/// null), else <see cref="PeerLostException"/> (the child crashed or was killed).</para>
/// <para>Each pipe has one writer. Pipe writes are atomic among several writers only up to PIPE_BUF (4096 bytes),
/// so do not share a child's descriptor with another writer (e.g. a fork of your own).</para>
/// </remarks>
/// <example><code>
/// // Parent: a typed channel each way.
/// var psi = new ProcessStartInfo("dotnet", ["Worker.dll"]);
/// var (process, toChild, fromChild) = IpcChild.Start(psi, IpcCodec.Unmanaged&lt;int&gt;(), IpcCodec.Unmanaged&lt;long&gt;());
/// using (toChild) using (fromChild) using (process)
/// {
///     await toChild.Channel.SendAsync(21);
///     long answer = await fromChild.Channel.ReceiveAsync();
///     toChild.Channel.Close();
///     await process.WaitForExitAsync();
/// }
///
/// // Child (Worker.dll):
/// using var input = IpcChild.OpenReceiverFromParent(IpcCodec.Unmanaged&lt;int&gt;());
/// using var output = IpcChild.OpenSenderToParent(IpcCodec.Unmanaged&lt;long&gt;());
/// await foreach (int v in input.Channel) await output.Channel.SendAsync(v * 2L);
/// </code></example>
public static partial class IpcChild
{
    /// <summary>The environment variable that tells the child the descriptor of the pipe from its parent (a decimal number).</summary>
    public const string ToChildVariable = "WEFT_IPC_TO_CHILD_FD";

    /// <summary>The environment variable that tells the child the descriptor of the pipe to its parent (a decimal number).</summary>
    public const string FromChildVariable = "WEFT_IPC_FROM_CHILD_FD";

    /// <summary>Held while a child's end is inheritable (see the essay): starts through IpcChild never overlap their windows.</summary>
    private static readonly Lock s_startLock = new();

    /// <summary>Starts a child process with a channel to it and a channel from it.</summary>
    /// <typeparam name="TToChild">What the parent sends.</typeparam>
    /// <typeparam name="TFromChild">What the child sends.</typeparam>
    /// <param name="startInfo">The child to start. <see cref="ProcessStartInfo.UseShellExecute"/> must be false. Its
    /// <see cref="ProcessStartInfo.Environment"/> gets <see cref="ToChildVariable"/> and <see cref="FromChildVariable"/>
    /// for the start; they are restored afterwards.</param>
    /// <param name="toChildCodec">How the parent's values become bytes; the child must open with a codec of the same fingerprint.</param>
    /// <param name="fromChildCodec">How the child's values become bytes.</param>
    /// <param name="maxFrameSize">The largest payload of one frame, in bytes, for both pipes: 1 to 16 MiB. The child must use the same.</param>
    /// <returns>The started process, the sender to the child and the receiver from the child. Dispose all three.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="startInfo"/> has UseShellExecute set (a shell would not pass the descriptors on).</exception>
    /// <exception cref="IpcException">pipe2 or fcntl failed; the message names the call and the error.</exception>
    /// <exception cref="System.ComponentModel.Win32Exception">The process could not be started (as <see cref="Process.Start(ProcessStartInfo)"/>); nothing is left open.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Starting cannot be cancelled; it waits only for the exec, as <see cref="Process.Start(ProcessStartInfo)"/> does.</remarks>
    /// <example><code>var (process, toChild, fromChild) = IpcChild.Start(psi, IpcCodec.Unmanaged&lt;int&gt;(), IpcCodec.Unmanaged&lt;int&gt;());</code></example>
    public static (Process Process, IpcSender<TToChild> ToChild, IpcReceiver<TFromChild> FromChild) Start<TToChild, TFromChild>(
        ProcessStartInfo startInfo, IpcCodec<TToChild> toChildCodec, IpcCodec<TFromChild> fromChildCodec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(toChildCodec);
        ArgumentNullException.ThrowIfNull(fromChildCodec);
        CheckStart(startInfo, maxFrameSize);
        var down = ChildPipe.Make(childReads: true);
        ChildPipe? up = null;
        IpcSender<TToChild>? toChild = null;
        IpcReceiver<TFromChild> fromChild;
        try
        {
            up = ChildPipe.Make(childReads: false);
            toChild = down.Sender(toChildCodec, maxFrameSize);
            fromChild = up.Receiver(fromChildCodec, maxFrameSize);
        }
        catch
        {
            toChild?.Dispose();
            down.Abandon(); // closing a descriptor an endpoint already released is a no-op (FileDescriptor is a SafeHandle)
            up?.Abandon();
            throw;
        }
        var process = StartWith(startInfo, down, up, () => { toChild.Dispose(); fromChild.Dispose(); });
        return (process, toChild, fromChild);
    }

    /// <summary>Starts a child process with a channel to it (the child reads it with <see cref="OpenReceiverFromParent{T}"/>).</summary>
    /// <typeparam name="T">What the parent sends.</typeparam>
    /// <param name="startInfo">The child to start (UseShellExecute false); <see cref="ToChildVariable"/> is set in its environment for the start.</param>
    /// <param name="codec">How values become bytes; the child must open with a codec of the same fingerprint.</param>
    /// <param name="maxFrameSize">The largest payload of one frame, in bytes: 1 to 16 MiB.</param>
    /// <returns>The started process and the sender to it. Dispose both; closing the sender's channel sends the close frame, after which the child's receiver sees ok = false.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="startInfo"/> has UseShellExecute set.</exception>
    /// <exception cref="IpcException">pipe2 or fcntl failed.</exception>
    /// <exception cref="System.ComponentModel.Win32Exception">The process could not be started; nothing is left open.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Starting cannot be cancelled. If the child dies, the next sends fail with <see cref="ChannelClosedException"/> and the sender's Error is a <see cref="PeerLostException"/>.</remarks>
    /// <example><code>
    /// var (process, toChild) = IpcChild.StartWithSender(psi, IpcCodec.Bytes());
    /// await toChild.Channel.SendAsync("job"u8.ToArray());
    /// toChild.Channel.Close();
    /// </code></example>
    public static (Process Process, IpcSender<T> ToChild) StartWithSender<T>(ProcessStartInfo startInfo, IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        CheckStart(startInfo, maxFrameSize);
        var down = ChildPipe.Make(childReads: true);
        IpcSender<T> toChild;
        try { toChild = down.Sender(codec, maxFrameSize); }
        catch { down.Abandon(); throw; }
        var process = StartWith(startInfo, down, null, toChild.Dispose);
        return (process, toChild);
    }

    /// <summary>Starts a child process with a channel from it (the child writes it with <see cref="OpenSenderToParent{T}"/>).</summary>
    /// <typeparam name="T">What the child sends.</typeparam>
    /// <param name="startInfo">The child to start (UseShellExecute false); <see cref="FromChildVariable"/> is set in its environment for the start.</param>
    /// <param name="codec">How values become bytes; the child must open with a codec of the same fingerprint.</param>
    /// <param name="maxFrameSize">The largest payload of one frame, in bytes: 1 to 16 MiB.</param>
    /// <returns>The started process and the receiver from it. Dispose both.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFrameSize"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="startInfo"/> has UseShellExecute set.</exception>
    /// <exception cref="IpcException">pipe2 or fcntl failed.</exception>
    /// <exception cref="System.ComponentModel.Win32Exception">The process could not be started; nothing is left open.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>Starting cannot be cancelled. When the child exits after closing its sender, receives return ok = false with Error null;
    /// when it exits without (a crash, kill -9), ok = false with Error a <see cref="PeerLostException"/>.</remarks>
    /// <example><code>
    /// var (process, fromChild) = IpcChild.StartWithReceiver(psi, IpcCodec.Unmanaged&lt;long&gt;());
    /// await foreach (long v in fromChild.Channel) Console.WriteLine(v);
    /// if (fromChild.Error is PeerLostException) Console.Error.WriteLine("the child died");
    /// </code></example>
    public static (Process Process, IpcReceiver<T> FromChild) StartWithReceiver<T>(ProcessStartInfo startInfo, IpcCodec<T> codec, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        CheckStart(startInfo, maxFrameSize);
        var up = ChildPipe.Make(childReads: false);
        IpcReceiver<T> fromChild;
        try { fromChild = up.Receiver(codec, maxFrameSize); }
        catch { up.Abandon(); throw; }
        var process = StartWith(startInfo, null, up, fromChild.Dispose);
        return (process, fromChild);
    }

    private static void CheckStart(ProcessStartInfo startInfo, int maxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        FrameFormat.CheckMaxFrameSize(maxFrameSize, nameof(maxFrameSize));
        if (startInfo.UseShellExecute)
        {
            throw new ArgumentException(
                "UseShellExecute must be false: a child started through the shell (xdg-open) would not receive the pipe descriptors.", nameof(startInfo));
        }
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("Weft.Ipc child pipes need Linux (pipe2, fcntl and epoll).");
    }

    /// <summary>
    /// The window (see the essay): under s_startLock, make the child's ends inheritable, name them in the environment,
    /// start, then restore the environment and release the child's ends whatever happened. On failure the parent's
    /// endpoints are disposed too, so nothing is left open.
    /// </summary>
    private static Process StartWith(ProcessStartInfo startInfo, ChildPipe? down, ChildPipe? up, Action disposeEndpoints)
    {
        var env = startInfo.Environment; // before the lock: the first read copies the whole environment
        string? oldTo = env.TryGetValue(ToChildVariable, out var t) ? t : null;
        string? oldFrom = env.TryGetValue(FromChildVariable, out var f) ? f : null;
        try
        {
            lock (s_startLock)
            {
                try
                {
                    Name(env, ToChildVariable, down);
                    Name(env, FromChildVariable, up);
                    return Process.Start(startInfo)
                        ?? throw new InvalidOperationException("Process.Start returned no process for " + startInfo.FileName + ".");
                }
                finally
                {
                    down?.ReleaseChildEnd();
                    up?.ReleaseChildEnd();
                    Restore(env, ToChildVariable, oldTo);
                    Restore(env, FromChildVariable, oldFrom);
                }
            }
        }
        catch
        {
            disposeEndpoints();
            throw;
        }

        static void Name(IDictionary<string, string?> env, string variable, ChildPipe? pipe)
        {
            if (pipe is null) env.Remove(variable); // an inherited value would name a descriptor this child lacks
            else env[variable] = pipe.MakeChildEndInheritable().ToString(CultureInfo.InvariantCulture);
        }

        static void Restore(IDictionary<string, string?> env, string variable, string? old)
        {
            if (old is null) env.Remove(variable);
            else env[variable] = old;
        }
    }

    /// <summary>One pipe for a child: the parent's end (non-blocking, close-on-exec) and the child's end (blocking, close-on-exec until the window).</summary>
    private sealed class ChildPipe
    {
        private readonly FileDescriptor _parentEnd;
        private readonly FileDescriptor _childEnd;

        private ChildPipe(FileDescriptor parentEnd, FileDescriptor childEnd)
        {
            _parentEnd = parentEnd;
            _childEnd = childEnd;
        }

        /// <summary>pipe2(O_CLOEXEC); the parent's end then made non-blocking. <paramref name="childReads"/>: the child gets the read end.</summary>
        internal static unsafe ChildPipe Make(bool childReads)
        {
            int* fds = stackalloc int[2];
            if (Libc.Pipe2(fds, Libc.O_CLOEXEC) != 0) throw Errno.Fail("pipe2");
            var read = new FileDescriptor(fds[0]);
            var write = new FileDescriptor(fds[1]);
            var pipe = childReads ? new ChildPipe(write, read) : new ChildPipe(read, write);
            int parentFd = pipe._parentEnd.Fd;
            int flags = Libc.Fcntl(parentFd, Libc.F_GETFL, 0);
            if (flags < 0 || Libc.Fcntl(parentFd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) != 0)
            {
                var e = Errno.Fail("fcntl(F_SETFL, O_NONBLOCK)");
                pipe.Abandon();
                throw e;
            }
            return pipe;
        }

        internal IpcSender<T> Sender<T>(IpcCodec<T> codec, int maxFrameSize) =>
            new(new StreamConnection(_parentEnd, directions: 1), codec, maxFrameSize, "pipe to child");

        internal IpcReceiver<T> Receiver<T>(IpcCodec<T> codec, int maxFrameSize) =>
            new(new StreamConnection(_parentEnd, directions: 1), codec, maxFrameSize, "pipe from child");

        /// <summary>Clears FD_CLOEXEC on the child's end (under s_startLock) and returns its number.</summary>
        internal int MakeChildEndInheritable()
        {
            int fd = _childEnd.Fd;
            if (Libc.Fcntl(fd, Libc.F_SETFD, 0) != 0) throw Errno.Fail("fcntl(F_SETFD, 0)");
            return fd;
        }

        /// <summary>The parent's copy of the child's end is closed: from here on only the child holds it, so its exit is the pipe's EOF.</summary>
        internal void ReleaseChildEnd() => _childEnd.Dispose();

        /// <summary>Nothing was built on this pipe: close both ends.</summary>
        internal void Abandon()
        {
            _childEnd.Dispose();
            _parentEnd.Dispose();
        }
    }
}
