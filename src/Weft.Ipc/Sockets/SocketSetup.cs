// SocketSetup — what a listener or a connect does before the stream transport takes over: the kernel's address
// structs, the socket file's directory and path rules, and the peer-credential rule. Everything here runs once per
// listener or connection, never per message.
//
// The path rules (a Unix socket's file is the object another user could squat or swap):
//   * the directory: if it does not exist, it is made with mode 0700 (only its last component; the parent must
//     exist). If it exists it must be a real directory (not a symlink) owned by this user with no group or other
//     permission bits: a 0700 directory is what keeps other users from reaching the socket at all, whatever the
//     socket file's own mode;
//   * the socket file: bound, then chmod 0600, and only then listen(2), so no connection can arrive while its mode
//     is the umask's. An existing path is refused if it is a symlink, belongs to another user, or is not a socket;
//     a socket of this user that no listener serves (connect says ECONNREFUSED: left by a crashed process) is
//     removed and bound again, and one that a listener serves is refused as in use;
//   * the checks use lstat (statx with AT_SYMLINK_NOFOLLOW), so a link is seen as a link and never followed.
//
// The peer rule: SO_PEERCRED gives the uid of the process at the other end as the kernel recorded it at connect
// (for a client) or listen (for a listener) time: not forgeable by the peer. The uid must be this process's, or in
// the caller's allow-list. Check is a pure function of the credential, so tests can hand it a uid that is not
// allowed, which a test running as root cannot otherwise produce.
//
// Rejected: abstract-namespace sockets (no file, so no mode and no owner check: any process in the network namespace
// can connect); putting the socket file's mode right with umask around bind (the umask is per process, and another
// thread's file would get it); trusting the socket file's mode alone (connect needs write permission on the file, but
// the directory is what stops a squatter from replacing it).

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Weft.Ipc.Interop;

namespace Weft.Ipc.Sockets;

internal static class SocketSetup
{
    internal const uint Mode0700 = 0x1C0;
    internal const uint Mode0600 = 0x180;

    /// <summary>Writes a sockaddr_un for <paramref name="path"/>; returns its length.</summary>
    /// <exception cref="ArgumentException">The path is too long for sockaddr_un, or holds a NUL.</exception>
    internal static unsafe int UnixAddress(string path, byte* address)
    {
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes >= Libc.UnixPathMax)
        {
            throw new ArgumentException(
                $"The Unix socket path '{path}' is {bytes} bytes of UTF-8; the kernel's limit (sockaddr_un) is {Libc.UnixPathMax - 1}. Use a shorter path, e.g. under {IpcSocket.DefaultDirectory}.", nameof(path));
        }
        if (path.Contains('\0', StringComparison.Ordinal)) throw new ArgumentException("A Unix socket path cannot contain a NUL character.", nameof(path));
        new Span<byte>(address, Libc.SockaddrMax).Clear();
        *(ushort*)address = Libc.AF_UNIX;
        Encoding.UTF8.GetBytes(path, new Span<byte>(address + 2, Libc.UnixPathMax));
        return 2 + bytes + 1;
    }

    /// <summary>Writes a sockaddr_in or sockaddr_in6 for <paramref name="endPoint"/>; returns its length.</summary>
    internal static unsafe int InetAddress(IPEndPoint endPoint, byte* address)
    {
        var span = new Span<byte>(address, Libc.SockaddrMax);
        span.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)endPoint.Port);
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            *(ushort*)address = Libc.AF_INET;
            endPoint.Address.TryWriteBytes(span[4..8], out _);
            return 16;
        }
        *(ushort*)address = Libc.AF_INET6;
        endPoint.Address.TryWriteBytes(span[8..24], out _);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)endPoint.Address.ScopeId);
        return 28;
    }

    /// <summary>Reads the port out of a sockaddr_in or sockaddr_in6.</summary>
    internal static unsafe int Port(byte* address) => BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(address + 2, 2));

    /// <summary>Refuses a null endpoint, a family other than IPv4/IPv6, and a non-loopback address without the option.</summary>
    internal static void CheckTcpEndPoint(IPEndPoint endPoint, bool allowNonLoopback, string paramName)
    {
        ArgumentNullException.ThrowIfNull(endPoint, paramName);
        if (endPoint.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"A TCP endpoint must be IPv4 or IPv6; {endPoint} is {endPoint.AddressFamily}.", paramName);
        }
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        if (!allowNonLoopback && !IPAddress.IsLoopback(address))
        {
            throw new ArgumentException(
                $"{endPoint} is not a loopback address: Weft's TCP endpoints stay on this machine (127.0.0.0/8 or ::1) unless "
                + $"{nameof(IpcSocketOptions)}.{nameof(IpcSocketOptions.AllowNonLoopback)} is set, because a TCP peer is not authenticated "
                + "(there are no peer credentials as on a Unix socket). Use IPAddress.Loopback, or set the option.", paramName);
        }
    }

    /// <summary>
    /// Null if <paramref name="peerUid"/> may talk to this process (it is <paramref name="self"/> or in
    /// <paramref name="allowed"/>); else why not, for the refusal.
    /// </summary>
    internal static string? CheckPeer(uint peerUid, uint self, IReadOnlyCollection<uint>? allowed)
    {
        if (peerUid == self) return null;
        if (allowed is not null && allowed.Contains(peerUid)) return null;
        string list = allowed is null || allowed.Count == 0 ? "none" : string.Join(", ", allowed.Order());
        return $"the peer's uid {peerUid} is not this process's uid {self} and not in the allow-list ({list}; see {nameof(IpcSocketOptions)}.{nameof(IpcSocketOptions.AllowedUids)})";
    }

    /// <summary>SO_PEERCRED of a connected Unix socket.</summary>
    internal static unsafe Libc.UCred PeerCredentials(int fd)
    {
        Libc.UCred cred;
        int length = sizeof(Libc.UCred);
        if (Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_PEERCRED, &cred, &length) != 0) throw Errno.Fail("getsockopt(SO_PEERCRED)");
        return cred;
    }

    internal static unsafe void SetNoDelay(int fd)
    {
        int one = 1;
        if (Libc.SetSockOpt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, &one, sizeof(int)) != 0) throw Errno.Fail("setsockopt(TCP_NODELAY)");
    }

    /// <summary>A new non-blocking, close-on-exec stream socket.</summary>
    internal static FileDescriptor NewSocket(int family)
    {
        int fd = Libc.Socket(family, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw Errno.Fail("socket");
        return new FileDescriptor(fd);
    }

    /// <summary>
    /// Makes the directory of a socket path 0700 if it does not exist, and refuses one that is a symlink, not a
    /// directory, another user's, or open to group or others.
    /// </summary>
    /// <exception cref="IOException">What is wrong with the directory, and what is expected.</exception>
    internal static unsafe void EnsurePrivateDirectory(string directory, uint uid)
    {
        while (true)
        {
            Libc.Statx st;
            if (Libc.StatxCall(Libc.AT_FDCWD, directory, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &st) == 0)
            {
                CheckPrivateDirectory(directory, st.Mode, st.Uid, uid);
                return;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.ENOENT) throw Errno.Fail("statx", directory, errno);
            if (Libc.MkDir(directory, Mode0700) == 0)
            {
                if (Libc.Chmod(directory, Mode0700) != 0) throw Errno.Fail("chmod", directory); // the umask may have taken bits; never adds any
                return;
            }
            errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EEXIST) throw Errno.Fail("mkdir", directory, errno); // EEXIST: made meanwhile, check it
        }
    }

    internal static void CheckPrivateDirectory(string directory, int mode, uint owner, uint uid)
    {
        int type = mode & Libc.FileTypeMask;
        if (type == Libc.FileTypeSymlink)
        {
            throw new IOException($"The socket directory {directory} is a symbolic link; a Unix socket listener refuses links (another user could point it anywhere). Give a real directory.");
        }
        if (type != Libc.FileTypeDirectory) throw new IOException($"The socket directory {directory} exists and is not a directory.");
        if (owner != uid)
        {
            throw new IOException($"The socket directory {directory} belongs to uid {owner}, not to this process's user (uid {uid}); a listener's socket lives in a directory of its own user, mode 0700.");
        }
        if ((mode & 0x3F) != 0)
        {
            throw new IOException(
                $"The socket directory {directory} has mode {Convert.ToString(mode & 0xFFF, 8)}; a listener's socket lives in a directory that only its user can reach (mode 0700), "
                + $"so other users cannot connect or replace the socket. chmod 700 it, or use {nameof(IpcSocket)}.{nameof(IpcSocket.DefaultDirectory)}.");
        }
    }

    /// <summary>
    /// Clears the way for binding <paramref name="path"/>: nothing there, or a stale socket of this user (removed).
    /// Refuses a symlink, another user's file, anything but a socket, and a socket a listener serves.
    /// </summary>
    /// <exception cref="IOException">What is there, and why it is refused.</exception>
    internal static unsafe void ClearSocketPath(string path, uint uid)
    {
        Libc.Statx st;
        if (Libc.StatxCall(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &st) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ENOENT) return;
            throw Errno.Fail("statx", path, errno);
        }
        CheckExistingSocket(path, st.Mode, st.Uid, uid);
        if (IsServed(path)) throw new IOException($"The Unix socket {path} is in use: a listener accepts connections on it. Choose another path, or stop that listener.");
        if (Libc.Unlink(path) != 0 && Marshal.GetLastPInvokeError() != Libc.ENOENT) throw Errno.Fail("unlink", path);
    }

    internal static void CheckExistingSocket(string path, int mode, uint owner, uint uid)
    {
        int type = mode & Libc.FileTypeMask;
        if (type == Libc.FileTypeSymlink)
        {
            throw new IOException($"{path} is a symbolic link; a Unix socket listener refuses links (another user could point it anywhere). Remove it or choose another path.");
        }
        if (owner != uid)
        {
            throw new IOException($"{path} exists and belongs to uid {owner}, not to this process's user (uid {uid}); a listener never removes or reuses another user's file. Choose another path.");
        }
        if (type != Libc.FileTypeSocket) throw new IOException($"{path} exists and is not a socket (file type 0x{type:X}); a listener replaces only a stale socket of its own. Remove it or choose another path.");
    }

    /// <summary>True if a connect to the socket at <paramref name="path"/> does not say ECONNREFUSED (a listener serves it).</summary>
    private static unsafe bool IsServed(string path)
    {
        using var probe = NewSocket(Libc.AF_UNIX);
        byte* address = stackalloc byte[Libc.SockaddrMax];
        int length = UnixAddress(path, address);
        if (Libc.Connect(probe.Fd, address, length) == 0) return true;
        return Marshal.GetLastPInvokeError() != Libc.ECONNREFUSED; // EAGAIN: a full backlog is a served socket too
    }
}
