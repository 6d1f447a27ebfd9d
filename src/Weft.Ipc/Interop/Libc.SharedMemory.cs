// Libc.SharedMemory — the calls behind shared-memory segments and the futexes in them (see Libc.cs for why
// LibraryImport and "libc.so.6").
//
// statx rather than fstat (Libc.cs declares it): struct stat's layout differs between x86-64 and arm64. futex through syscall(2): glibc has no wrapper; its number is 202 on x86-64 and 98 on arm64.

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal static partial class Libc
{
    internal const int O_RDWR = 0x2;

    internal const int ENOSPC = 28;
    internal const int ENOENT = 2;
    internal const int ETIMEDOUT = 110;

    internal const int PROT_READ = 0x1;
    internal const int PROT_WRITE = 0x2;
    internal const int MAP_SHARED = 0x1;


    internal const int FUTEX_WAIT = 0;
    internal const int FUTEX_WAKE = 1;

    /// <summary>shm_open(3): a descriptor for the POSIX shared-memory object <paramref name="name"/> ("/x").</summary>
    [LibraryImport(Lib, EntryPoint = "shm_open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int ShmOpen(string name, int flags, uint mode);

    /// <summary>shm_unlink(3).</summary>
    [LibraryImport(Lib, EntryPoint = "shm_unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int ShmUnlink(string name);

    /// <summary>fallocate(2) with mode 0: reserves the blocks, so a full tmpfs fails here and not later with SIGBUS.</summary>
    [LibraryImport(Lib, EntryPoint = "fallocate", SetLastError = true)]
    internal static partial int Fallocate(int fd, int mode, long offset, long length);

    /// <summary>mmap(2); returns MAP_FAILED (-1) with errno.</summary>
    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nint length, int protection, int flags, int fd, long offset);

    /// <summary>munmap(2).</summary>
    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nint length);

    /// <summary>syscall(2), for futex.</summary>
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long Syscall(long number, int* address, int op, int value, Timespec* timeout, nint address2, int value3);

    [StructLayout(LayoutKind.Sequential)]
    internal struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private static readonly long s_futexNumber = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        var other => throw new PlatformNotSupportedException($"Weft.Ipc's futex waits support x64 and arm64 Linux, not {other}."),
    };

    /// <summary>
    /// FUTEX_WAIT on a shared word (no FUTEX_PRIVATE_FLAG: the word lives in memory other processes map): sleeps while
    /// *<paramref name="word"/> == <paramref name="expected"/>, for at most <paramref name="timeoutMs"/> (-1: no limit).
    /// 0 when woken (or the value differed, EAGAIN, or EINTR: the caller re-checks either way), ETIMEDOUT on timeout.
    /// </summary>
    internal static unsafe int FutexWait(int* word, int expected, int timeoutMs)
    {
        Timespec ts = default;
        Timespec* pts = null;
        if (timeoutMs >= 0)
        {
            ts.Seconds = timeoutMs / 1000;
            ts.Nanoseconds = timeoutMs % 1000 * 1_000_000L;
            pts = &ts;
        }
        long r = Syscall(s_futexNumber, word, FUTEX_WAIT, expected, pts, 0, 0);
        if (r == 0) return 0;
        int errno = Marshal.GetLastPInvokeError();
        return errno == ETIMEDOUT ? ETIMEDOUT : errno is EAGAIN or EINTR ? 0 : throw Errno.Fail("futex(FUTEX_WAIT)", null, errno);
    }

    /// <summary>FUTEX_WAKE on a shared word: wakes up to <paramref name="count"/> waiters.</summary>
    internal static unsafe void FutexWake(int* word, int count)
    {
        if (Syscall(s_futexNumber, word, FUTEX_WAKE, count, null, 0, 0) < 0) throw Errno.Fail("futex(FUTEX_WAKE)");
    }

    /// <summary>The owner, permission bits and size of an open descriptor (statx with AT_EMPTY_PATH).</summary>
    internal static unsafe (uint Uid, uint Mode, long Size) StatDescriptor(int fd, string pathForErrors)
    {
        Statx buffer;
        if (StatxCall(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &buffer) != 0) throw Errno.Fail("statx", pathForErrors);
        return (buffer.Uid, buffer.Mode, buffer.Size);
    }
}

internal static partial class Libc
{
    internal const int F_OFD_SETLK = 37;
    internal const int F_OFD_SETLKW = 38;
    internal const short F_WRLCK = 1;
    internal const short F_UNLCK = 2;

    /// <summary>struct flock (the same layout on x86-64 and arm64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid; // must be 0 for OFD locks
    }

    /// <summary>fcntl(2) with a struct flock argument.</summary>
    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    internal static unsafe partial int FcntlLock(int fd, int command, Flock* lockRange);

    /// <summary>
    /// An open-file-description lock on byte 0 (F_OFD_SETLK; F_OFD_SETLKW with <paramref name="wait"/>, which sleeps in
    /// the kernel until it is free): true if taken, false if another open file description holds it. Owned by the description, not by a thread or a process id: any thread may release
    /// it, and the kernel releases it when the last descriptor of the description closes, so when its process dies.
    /// </summary>
    internal static unsafe bool TryOfdLock(int fd, bool unlock, string pathForErrors, bool wait = false)
    {
        var range = new Flock { Type = unlock ? F_UNLCK : F_WRLCK, Whence = 0, Start = 0, Length = 1 };
        while (FcntlLock(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &range) != 0)
        {
            var e = Errno.Fail("fcntl(F_OFD_SETLK)", pathForErrors);
            if (e.Errno == EINTR) continue;
            if (!unlock && e.Errno is EAGAIN or 13) return false; // EAGAIN or EACCES: held elsewhere
            throw e;
        }
        return true;
    }
}
