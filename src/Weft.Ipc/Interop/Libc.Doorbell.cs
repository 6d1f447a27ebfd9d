// Libc.Doorbell — the calls of the shared-memory channel's doorbells and liveness checks (SharedMemory/): Unix
// datagram sockets in the abstract namespace, F_OFD_GETLK on a participant's byte, pidfd_open. LibraryImport to
// libc.so.6, as everywhere in this folder.

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal static partial class Libc
{
    internal const int SOCK_DGRAM = 2;
    internal const int MSG_DONTWAIT = 0x40;
    internal const int F_OFD_GETLK = 36;
    internal const int EADDRINUSE = 98;

    // socket(2) and bind(2) are declared in Libc.Sockets.cs, with the rest of the socket calls.

    /// <summary>sendto(2).</summary>
    [LibraryImport(Lib, EntryPoint = "sendto", SetLastError = true)]
    internal static unsafe partial nint SendTo(int fd, byte* buffer, nint length, int flags, byte* address, int addressLength);

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>
    /// struct mmsghdr: a struct msghdr (name, its length, the iovec array and its length, control data and its length,
    /// flags) and the received length. The same layout on x86-64 and arm64 (LP64).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MMsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
        public uint Length;
    }

    /// <summary>recvmmsg(2): up to <paramref name="count"/> datagrams in one call; -1 with errno set on failure.</summary>
    [LibraryImport(Lib, EntryPoint = "recvmmsg", SetLastError = true)]
    internal static unsafe partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, Timespec* timeout);

    /// <summary>
    /// True if another open file description holds a lock on the byte at <paramref name="offset"/> (F_OFD_GETLK): the
    /// kernel's answer, so a process that died holds nothing, and one that is only slow (a GC pause) still holds it.
    /// </summary>
    internal static unsafe bool IsOfdLockedElsewhere(int fd, long offset, string pathForErrors)
    {
        var range = new Flock { Type = F_WRLCK, Whence = 0, Start = offset, Length = 1 };
        while (FcntlLock(fd, F_OFD_GETLK, &range) != 0)
        {
            var e = Errno.Fail("fcntl(F_OFD_GETLK)", pathForErrors);
            if (e.Errno != EINTR) throw e;
        }
        return range.Type != F_UNLCK;
    }

    /// <summary>F_OFD_SETLK on one byte: true if taken (or released), false if another description holds it.</summary>
    internal static unsafe bool TryOfdLockByte(int fd, long offset, bool unlock, string pathForErrors)
    {
        var range = new Flock { Type = unlock ? F_UNLCK : F_WRLCK, Whence = 0, Start = offset, Length = 1 };
        while (FcntlLock(fd, F_OFD_SETLK, &range) != 0)
        {
            var e = Errno.Fail("fcntl(F_OFD_SETLK)", pathForErrors);
            if (e.Errno == EINTR) continue;
            if (!unlock && e.Errno is EAGAIN or 13) return false;
            throw e;
        }
        return true;
    }

    /// <summary>pidfd_open(2): a descriptor that becomes readable when the process exits; -1 with errno set on failure.</summary>
    internal static int PidfdOpen(int pid) => (int)Syscall(SYS_pidfd_open, pid, 0, 0, 0);
}
