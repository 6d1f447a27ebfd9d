using Weft.Ipc;
using Weft.Ipc.Interop;
using Xunit;

namespace Weft.Ipc.Tests;

public class InteropTests
{
    [Fact]
    public void A_failed_call_names_the_call_the_errno_and_its_text()
    {
        int rc = Libc.Close(-1);
        Assert.Equal(-1, rc);
        IpcException e = Errno.Fail("close");
        Assert.Equal("close", e.Call);
        Assert.Null(e.Path);
        Assert.Equal(9, e.Errno);
        Assert.Equal("close failed: Bad file descriptor (EBADF, errno 9).", e.Message);
    }

    [Fact]
    public void The_path_appears_in_the_message_and_an_unnamed_errno_keeps_its_number()
    {
        IpcException e = Errno.Fail("open", "/tmp/x", 13);
        Assert.Equal("/tmp/x", e.Path);
        Assert.StartsWith("open(/tmp/x) failed: Permission denied (EACCES, errno 13)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(errno 200)", Errno.Fail("ioctl", null, 200).Message, StringComparison.Ordinal);
    }

    [Fact]
    public unsafe void Pipe2_gives_two_descriptors_that_carry_bytes()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Libc.Pipe2(fds, Libc.O_CLOEXEC | Libc.O_NONBLOCK));
        using var r = new FileDescriptor(fds[0]);
        using var w = new FileDescriptor(fds[1]);
        byte* buf = stackalloc byte[4];
        Assert.Equal(-1, Libc.Read(r.Fd, buf, 4));
        Assert.Equal(Libc.EAGAIN, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        buf[0] = 42;
        Assert.Equal(1, Libc.Write(w.Fd, buf, 1));
        buf[0] = 0;
        Assert.Equal(1, Libc.Read(r.Fd, buf, 4));
        Assert.Equal(42, buf[0]);
    }
}
