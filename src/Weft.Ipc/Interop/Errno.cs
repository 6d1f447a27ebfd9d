// Errno — a failed system call becomes an exception that says what failed: the call, the path (when there is one),
// errno's number and name, and the system's own text for it (strerror, through Marshal.GetPInvokeErrorMessage).
//
// Read errno with Marshal.GetLastPInvokeError right after the call (Libc.cs says why that is reliable), and build
// the exception through Errno.Fail so every message has the same shape:
//   "pipe2 failed: Too many open files (EMFILE, errno 24)."
//   "open(/tmp/weft-0/x.fifo) failed: Permission denied (EACCES, errno 13)."
//
// Rejected: Win32Exception (its message is the text alone, without the call or the path, and its name says
// Windows), and a bare IOException with HResult = errno (callers cannot tell an errno from an HRESULT).

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal static class Errno
{
    /// <summary>The exception for the errno the last LibraryImport call with SetLastError left.</summary>
    internal static IpcException Fail(string call, string? path = null) => Fail(call, path, Marshal.GetLastPInvokeError());

    /// <summary>The exception for <paramref name="errno"/> from <paramref name="call"/> on <paramref name="path"/>.</summary>
    internal static IpcException Fail(string call, string? path, int errno) =>
        new(call, path, errno, Describe(call, path, errno));

    /// <summary>"call(path) failed: text (NAME, errno N)."</summary>
    internal static string Describe(string call, string? path, int errno)
    {
        string what = path is null ? call : $"{call}({path})";
        string name = Name(errno);
        string code = name.Length == 0 ? $"errno {errno}" : $"{name}, errno {errno}";
        return $"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} ({code}).";
    }

    /// <summary>The symbolic name of the errno values IPC meets; empty for others (the number and text still say it).</summary>
    internal static string Name(int errno) => errno switch
    {
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        5 => "EIO",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        17 => "EEXIST",
        20 => "ENOTDIR",
        22 => "EINVAL",
        23 => "ENFILE",
        24 => "EMFILE",
        28 => "ENOSPC",
        32 => "EPIPE",
        40 => "ELOOP",
        98 => "EADDRINUSE",
        104 => "ECONNRESET",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        _ => "",
    };
}
