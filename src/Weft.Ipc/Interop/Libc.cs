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
}
