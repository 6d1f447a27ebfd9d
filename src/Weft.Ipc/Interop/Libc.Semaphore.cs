// Libc.Semaphore — POSIX named semaphores (sem_overview(7)), so that a Weft process and a C program can share one.
// In glibc 2.34 and later they live in libc.so.6 itself (libpthread was merged into it).

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal static partial class Libc
{
    internal const int CLOCK_REALTIME = 0;

    /// <summary>sem_open(3) with O_CREAT: a sem_t*, or SEM_FAILED (null) with errno.</summary>
    [LibraryImport(Lib, EntryPoint = "sem_open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial nint SemOpenCreate(string name, int flags, uint mode, uint value);

    /// <summary>sem_open(3) without O_CREAT.</summary>
    [LibraryImport(Lib, EntryPoint = "sem_open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial nint SemOpen(string name, int flags);

    [LibraryImport(Lib, EntryPoint = "sem_close", SetLastError = true)]
    internal static partial int SemClose(nint sem);

    [LibraryImport(Lib, EntryPoint = "sem_unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int SemUnlink(string name);

    [LibraryImport(Lib, EntryPoint = "sem_wait", SetLastError = true)]
    internal static partial int SemWait(nint sem);

    [LibraryImport(Lib, EntryPoint = "sem_trywait", SetLastError = true)]
    internal static partial int SemTryWait(nint sem);

    /// <summary>
    /// sem_trywait(3) for the uncontended path: glibc's is a compare-and-swap on the count and never enters the kernel,
    /// so it runs without the GC transition. No SetLastError: with the transition suppressed nothing runs between the
    /// call and the caller, which reads errno itself (Marshal.GetLastSystemError) and only when the call failed.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "sem_trywait")]
    [SuppressGCTransition]
    internal static partial int SemTryWaitFast(nint sem);

    [LibraryImport(Lib, EntryPoint = "sem_timedwait", SetLastError = true)]
    internal static unsafe partial int SemTimedWait(nint sem, Timespec* absoluteRealtime);

    /// <summary>
    /// sem_post(3) without the GC transition: an atomic add, plus a FUTEX_WAKE when a thread waits, which never
    /// sleeps (IpcSemaphore.cs, "The fast path", says why that is acceptable). The caller reads errno on failure only.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "sem_post")]
    [SuppressGCTransition]
    internal static partial int SemPostFast(nint sem);

    [LibraryImport(Lib, EntryPoint = "sem_getvalue", SetLastError = true)]
    internal static unsafe partial int SemGetValue(nint sem, int* value);

    [LibraryImport(Lib, EntryPoint = "clock_gettime", SetLastError = true)]
    internal static unsafe partial int ClockGetTime(int clock, Timespec* now);
}
