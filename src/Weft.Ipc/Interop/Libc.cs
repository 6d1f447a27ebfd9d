// Libc — the system calls Weft.Ipc makes, declared once, source-generated (LibraryImport), all in this folder.
//
// Why LibraryImport: the marshalling code is generated at compile time, so no IL stub is built at run time, the
// calls are trimming- and AOT-safe, and errno is captured by the generated code right after the call
// (SetLastError = true), before anything else in the runtime can overwrite it. Read it with
// Marshal.GetLastPInvokeError (Errno.cs turns it into an exception).
//
// Why "libc.so.6" and never "libc.so": on a glibc system "libc.so" is the development symlink, and on many it is a
// linker script (a text file) that dlopen cannot load; "libc.so.6" is the shared object itself, present on every
// glibc system. musl systems are not supported yet.
//
// Constants: the values of the Linux generic ABI, the same on x86-64 and arm64 for every constant used here.
//
// Rejected:
//   * System.IO.Pipes and NetworkStream: on Unix their async paths block a ThreadPool thread (anonymous pipes) or go
//     through .NET's own socket engine (one more thread hop per message); the netpoller needs raw non-blocking fds;
//   * DllImport: a run-time stub per signature, and errno capture that depends on the marshaller's order of events.

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal static partial class Libc
{
    private const string Lib = "libc.so.6";

    internal const int EINTR = 4;
    internal const int EAGAIN = 11;
    internal const int EPIPE = 32;
    internal const int ECONNRESET = 104;

    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;

    internal const int AF_UNIX = 1;
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_NONBLOCK = O_NONBLOCK;
    internal const int SOCK_CLOEXEC = O_CLOEXEC;

    /// <summary>pipe2(2): fds[0] is the read end, fds[1] the write end.</summary>
    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    internal static unsafe partial int Pipe2(int* fds, int flags);

    /// <summary>socketpair(2): two connected sockets.</summary>
    [LibraryImport(Lib, EntryPoint = "socketpair", SetLastError = true)]
    internal static unsafe partial int SocketPair(int domain, int type, int protocol, int* fds);

    /// <summary>read(2): the bytes read, 0 at end of file, -1 with errno.</summary>
    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    internal static unsafe partial nint Read(int fd, byte* buffer, nint count);

    /// <summary>write(2): the bytes written (possibly fewer than asked), -1 with errno.</summary>
    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    internal static unsafe partial nint Write(int fd, byte* buffer, nint count);

    /// <summary>
    /// write(2) of at most <see cref="SmallWrite"/> bytes to a non-blocking descriptor, without the GC transition and
    /// without SetLastError: the caller reads errno itself (Marshal.GetLastSystemError), only when it failed, and
    /// nothing runs between the call and that read. Streams/StreamSenderBase.cs, "Small writes", says why and when.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "write")]
    [SuppressGCTransition]
    internal static unsafe partial nint WriteSmall(int fd, byte* buffer, nint count);

    /// <summary>The most bytes <see cref="WriteSmall"/> is used for.</summary>
    internal const int SmallWrite = 4096;

    /// <summary>close(2). Never retried on EINTR: on Linux the descriptor is released whatever close returns.</summary>
    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);
}

// Signals, message queues and FIFOs (Signals/, MessageQueues/, Fifos/).
internal static partial class Libc
{
    internal const int ESRCH = 3;
    internal const int ENXIO = 6;
    internal const int EEXIST = 17;
    internal const int EMSGSIZE = 90;

    /// <summary>pidfd_open(2), the same number on x86-64 and arm64 (the unified syscall table from 424 on).</summary>
    internal const long SYS_pidfd_open = 434;

    /// <summary>pidfd_send_signal(2), the same number on x86-64 and arm64.</summary>
    internal const long SYS_pidfd_send_signal = 424;

    /// <summary>kill(2).</summary>
    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    /// <summary>getpid(2).</summary>
    [LibraryImport(Lib, EntryPoint = "getpid")]
    internal static partial int GetPid();

    /// <summary>getuid(2).</summary>
    [LibraryImport(Lib, EntryPoint = "getuid")]
    internal static partial uint GetUid();

    /// <summary>syscall(2) with four integer arguments (unused ones are ignored by the kernel).</summary>
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long a1, long a2, long a3, long a4);

    internal const int O_RDONLY = 0;
    internal const int O_WRONLY = 1;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_NOFOLLOW = 0x20000;
    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_BASIC_STATS = 0x7ff;
    internal const int FileTypeMask = 0xF000;   // S_IFMT
    internal const int FileTypeFifo = 0x1000;   // S_IFIFO
    internal const int FileTypeSymlink = 0xA000; // S_IFLNK

    /// <summary>struct mq_attr: four longs and four reserved (64-bit Linux).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MqAttr
    {
        internal long Flags, MaxMsg, MsgSize, CurMsgs, Reserved0, Reserved1, Reserved2, Reserved3;
    }

    /// <summary>
    /// struct statx, the one stat layout that is the same on x86-64 and arm64 (struct stat is not): the fields read
    /// here (uid at 20, gid at 24, mode at 28, size at 40) and 256 bytes in all.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct Statx
    {
        [FieldOffset(0)] internal uint Mask;
        [FieldOffset(20)] internal uint Uid;
        [FieldOffset(24)] internal uint Gid;
        [FieldOffset(28)] internal ushort Mode;
        [FieldOffset(40)] internal long Size;
    }

    /// <summary>mq_open(3) with O_CREAT's two extra arguments (ignored without it). The descriptor is always close-on-exec.</summary>
    [LibraryImport(Lib, EntryPoint = "mq_open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int MqOpen(string name, int flags, uint mode, MqAttr* attr);

    /// <summary>mq_send(3): 0, or -1 with errno (EAGAIN: full, on a non-blocking descriptor).</summary>
    [LibraryImport(Lib, EntryPoint = "mq_send", SetLastError = true)]
    internal static unsafe partial int MqSend(int mq, byte* message, nint length, uint priority);

    /// <summary>mq_receive(3): the message's length, or -1 with errno (EAGAIN: empty). The buffer must hold mq_msgsize bytes.</summary>
    [LibraryImport(Lib, EntryPoint = "mq_receive", SetLastError = true)]
    internal static unsafe partial nint MqReceive(int mq, byte* buffer, nint length, uint* priority);

    /// <summary>mq_getattr(3).</summary>
    [LibraryImport(Lib, EntryPoint = "mq_getattr", SetLastError = true)]
    internal static unsafe partial int MqGetAttr(int mq, MqAttr* attr);

    /// <summary>mq_unlink(3).</summary>
    [LibraryImport(Lib, EntryPoint = "mq_unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MqUnlink(string name);

    /// <summary>statx(2) through glibc.</summary>
    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int StatxCall(int dirfd, string path, int flags, uint mask, Statx* buffer);

    /// <summary>mkfifo(3).</summary>
    [LibraryImport(Lib, EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MkFifo(string path, uint mode);

    /// <summary>open(2) without O_CREAT (the mode argument is not passed).</summary>
    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);
}
