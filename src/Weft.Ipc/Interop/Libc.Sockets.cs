// Libc.Sockets — the socket calls of Sockets/ (listeners and connects over Unix domain sockets and TCP): setup only.
// Once a socket is connected, the stream transport reads and writes it with read(2) and write(2) (Libc.cs), driven
// by the netpoller, like a pipe.
//
// Addresses are built by hand as the kernel's structs (sockaddr_un, sockaddr_in, sockaddr_in6), in a stack buffer of
// SockaddrMax bytes: that keeps the calls blittable (no marshalling) and avoids System.Net's SocketAddress, whose
// layout is an implementation detail of .NET's own socket engine.

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal static partial class Libc
{
    internal const int ECONNABORTED = 103;
    internal const int ECONNREFUSED = 111;
    internal const int EINPROGRESS = 115;

    internal const int AF_INET = 2;
    internal const int AF_INET6 = 10;
    internal const int SOL_SOCKET = 1;
    internal const int SO_REUSEADDR = 2;
    internal const int SO_ERROR = 4;
    internal const int SO_PEERCRED = 17;
    internal const int IPPROTO_TCP = 6;
    internal const int TCP_NODELAY = 1;

    internal const int FileTypeSocket = 0xC000;   // S_IFSOCK
    internal const int FileTypeDirectory = 0x4000; // S_IFDIR

    /// <summary>sockaddr_un's path field: 108 bytes, including the terminating NUL.</summary>
    internal const int UnixPathMax = 108;

    /// <summary>The largest address built here (sockaddr_un: 2 + 108).</summary>
    internal const int SockaddrMax = 112;

    /// <summary>struct ucred (SO_PEERCRED): the peer's pid, uid and gid, as they were at connect or listen time.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct UCred
    {
        internal int Pid;
        internal uint Uid;
        internal uint Gid;
    }

    /// <summary>socket(2).</summary>
    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    /// <summary>bind(2).</summary>
    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    internal static unsafe partial int Bind(int fd, byte* address, int length);

    /// <summary>listen(2).</summary>
    [LibraryImport(Lib, EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(int fd, int backlog);

    /// <summary>accept4(2), with SOCK_NONBLOCK | SOCK_CLOEXEC so the new descriptor is ready for the netpoller and never inherited.</summary>
    [LibraryImport(Lib, EntryPoint = "accept4", SetLastError = true)]
    internal static unsafe partial int Accept4(int fd, byte* address, int* length, int flags);

    /// <summary>connect(2).</summary>
    [LibraryImport(Lib, EntryPoint = "connect", SetLastError = true)]
    internal static unsafe partial int Connect(int fd, byte* address, int length);

    /// <summary>getsockopt(2).</summary>
    [LibraryImport(Lib, EntryPoint = "getsockopt", SetLastError = true)]
    internal static unsafe partial int GetSockOpt(int fd, int level, int name, void* value, int* length);

    /// <summary>setsockopt(2).</summary>
    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    internal static unsafe partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    /// <summary>getsockname(2): the address a socket is bound to (the port the kernel chose for port 0).</summary>
    [LibraryImport(Lib, EntryPoint = "getsockname", SetLastError = true)]
    internal static unsafe partial int GetSockName(int fd, byte* address, int* length);

    /// <summary>unlink(2).</summary>
    [LibraryImport(Lib, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Unlink(string path);

    /// <summary>chmod(2).</summary>
    [LibraryImport(Lib, EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chmod(string path, uint mode);

    /// <summary>mkdir(2) (the mode is further limited by the umask; callers chmod after).</summary>
    [LibraryImport(Lib, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MkDir(string path, uint mode);
}
