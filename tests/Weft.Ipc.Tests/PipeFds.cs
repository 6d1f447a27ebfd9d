using System.Runtime.InteropServices;
using Weft.Ipc.Interop;

namespace Weft.Ipc.Tests;

/// <summary>A raw non-blocking pipe for tests of the layers under the channel API.</summary>
internal sealed unsafe class PipeFds : IDisposable
{
    public readonly FileDescriptor ReadEnd, WriteEnd;

    public PipeFds()
    {
        int* fds = stackalloc int[2];
        if (Libc.Pipe2(fds, Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0) throw Errno.Fail("pipe2");
        ReadEnd = new FileDescriptor(fds[0]);
        WriteEnd = new FileDescriptor(fds[1]);
    }

    public void WriteByte(byte b)
    {
        if (Libc.Write(WriteEnd.Fd, &b, 1) != 1) throw Errno.Fail("write");
    }

    /// <summary>The byte read, or -1 on EAGAIN.</summary>
    public int TryReadByte()
    {
        byte b;
        nint n = Libc.Read(ReadEnd.Fd, &b, 1);
        if (n == 1) return b;
        if (n < 0 && Marshal.GetLastPInvokeError() == Libc.EAGAIN) return -1;
        throw Errno.Fail("read");
    }

    public void Dispose()
    {
        ReadEnd.Dispose();
        WriteEnd.Dispose();
    }
}
