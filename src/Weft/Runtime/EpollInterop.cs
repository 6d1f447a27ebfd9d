// EpollInterop — the few libc calls the netpoller (Netpoll.cs) makes: epoll and eventfd. The core keeps its own
// tiny declarations rather than depending on Weft.Ipc's Interop folder, because the scheduler will use the
// netpoller and the core must not reference the IPC package. Same rules as Weft.Ipc/Interop/Libc.cs: source-generated
// (LibraryImport), "libc.so.6" (never "libc.so", which can be a linker script), errno captured by SetLastError.
//
// struct epoll_event is packed on x86-64 (12 bytes: u32 events, u64 data at offset 4) and naturally aligned on
// arm64 (16 bytes, data at offset 8). Rather than two struct declarations, the netpoller reads and writes events in
// a byte buffer with the stride and offset of the running architecture (EventSize, DataOffset).

using System.Runtime.InteropServices;

namespace Weft.Runtime;

internal static partial class EpollInterop
{
    private const string Lib = "libc.so.6";

    internal const int EINTR = 4;
    internal const int EAGAIN = 11;
    internal const int EPOLL_CLOEXEC = 0x80000;
    internal const int EFD_CLOEXEC = 0x80000;
    internal const int EFD_NONBLOCK = 0x800;

    internal const int EPOLL_CTL_ADD = 1;
    internal const int EPOLL_CTL_DEL = 2;
    internal const int EPOLL_CTL_MOD = 3;

    internal const uint EPOLLIN = 0x001;
    internal const uint EPOLLOUT = 0x004;
    internal const uint EPOLLERR = 0x008;
    internal const uint EPOLLHUP = 0x010;
    internal const uint EPOLLRDHUP = 0x2000;
    internal const uint EPOLLET = 1u << 31;

    /// <summary>sizeof(struct epoll_event) on this architecture.</summary>
    internal static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>offsetof(struct epoll_event, data) on this architecture.</summary>
    internal static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport(Lib, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate1(int flags);

    [LibraryImport(Lib, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static unsafe partial int EpollCtl(int epfd, int op, int fd, byte* ev);

    [LibraryImport(Lib, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static unsafe partial int EpollWait(int epfd, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int EventFd(uint initval, int flags);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    internal static unsafe partial nint Read(int fd, byte* buffer, nint count);

    internal const int O_RDONLY_CLOEXEC = 0x80000; // O_RDONLY (0) | O_CLOEXEC

    [LibraryImport(Lib, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Open(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "pread", SetLastError = true)]
    internal static unsafe partial nint PRead(int fd, byte* buffer, nint count, long offset);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    internal static unsafe partial nint Write(int fd, byte* buffer, nint count);

    /// <summary>An exception naming the failed call and errno's text (the core's counterpart of Weft.Ipc's Errno.Fail).</summary>
    internal static IOException Fail(string call)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
    }
}
