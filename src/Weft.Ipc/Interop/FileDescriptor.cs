// FileDescriptor — an owned Unix file descriptor.
//
// A SafeHandle, so that the descriptor is closed exactly once, by Dispose or, if the owner forgot, by the
// finalizer, and never while a call that uses it is in flight: DangerousAddRef around each system call keeps a
// concurrent Dispose from closing the number under the call, and from letting the kernel hand the same number to a
// new file that the call would then read or write (the fd-reuse race).
//
// Rejected: SafeFileHandle (it carries file-specific behaviour, such as an advisory lock on some paths, and its
// invalid value is the Windows one).

using System.Runtime.InteropServices;

namespace Weft.Ipc.Interop;

internal sealed class FileDescriptor : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/>.</summary>
    internal FileDescriptor(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    /// <inheritdoc/>
    public override bool IsInvalid => handle == -1;

    /// <summary>The descriptor's number (valid while a reference is held: see the essay).</summary>
    internal int Fd => (int)handle;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
