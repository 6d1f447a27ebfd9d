// Libc.Children — the descriptor-flag calls that child pipes need (Children/): clearing close-on-exec on the one
// descriptor a child inherits, and checking, in the child, that an inherited number is a pipe end of the right
// direction before it becomes an endpoint.

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal static partial class Libc
{
    internal const int EBADF = 9;
    internal const int F_GETFD = 1;
    internal const int F_SETFD = 2;
    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;
    internal const int FD_CLOEXEC = 1;
    internal const int O_ACCMODE = 3;

    /// <summary>PIPE_BUF on Linux: a write of at most this many bytes to a pipe is atomic among several writers.</summary>
    internal const int PIPE_BUF = 4096;

    /// <summary>fcntl(2) with an int argument (F_GETFD, F_SETFD, F_GETFL, F_SETFL; the argument is ignored by the getters).</summary>
    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int Fcntl(int fd, int command, int argument);
}
