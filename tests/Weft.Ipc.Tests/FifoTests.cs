using Weft.Ipc.Interop;
using Weft.Tests;
using Xunit;
using static Weft.Ipc.Tests.Sequences;

namespace Weft.Ipc.Tests;

public sealed class FifoTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("weft-fifo-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_dir.FullName, name);

    private static unsafe Libc.Statx Lstat(string path)
    {
        Libc.Statx st;
        Assert.Equal(0, Libc.StatxCall(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &st));
        return st;
    }

    /// <summary>Polls <paramref name="condition"/>, bounded by the test timeout.</summary>
    private static Task WaitFor(Func<bool> condition) => Task.Run(async () =>
    {
        while (!condition()) await Task.Delay(1);
    }).Within();

    [Fact]
    public async Task A_writer_that_came_first_waits_for_the_reader_then_values_arrive_in_order_and_the_close_frame_ends_them()
    {
        const int N = 10_000;
        string path = PathOf("round-trip.fifo");
        var opening = Gor.Run(async () => await IpcFifo.OpenSenderAsync(path, IpcCodec.Unmanaged<long>()));
        await WaitFor(() => File.Exists(path));
        var st = Lstat(path); // the writer made the FIFO: 0600, ours
        Assert.Equal(Libc.FileTypeFifo, st.Mode & Libc.FileTypeMask);
        Assert.Equal(0x180, st.Mode & 0x1FF);
        Assert.Equal(Libc.GetUid(), st.Uid);

        using var receiver = await Gor.Run(async () => await IpcFifo.OpenReceiverAsync(path, IpcCodec.Unmanaged<long>()));
        using var sender = await opening;
        var reading = Gor.Run(() => Drain(receiver.Channel));
        await Gor.Run(() => SendAll(sender.Channel, N));
        AssertSequence(await reading, N);
        Assert.Null(receiver.Error);
    }

    [Fact]
    public async Task A_reader_waits_for_its_writer_and_a_writer_that_dies_without_closing_is_a_lost_peer()
    {
        string path = PathOf("lost.fifo");
        var opening = Gor.Run(async () => await IpcFifo.OpenReceiverAsync(path, IpcCodec.Unmanaged<int>()));
        // The receiver waits for a writer: simulate one that connects, writes nothing, and vanishes.
        int raw = -1;
        await WaitFor(() => (raw = Libc.Open(path, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC)) >= 0); // ENOENT, then ENXIO until the reader's open
        Assert.False(opening.IsCompleted, "the reader is still waiting: nothing was written");
        Libc.Close(raw);
        using var receiver = await opening;
        var (_, ok) = await receiver.Channel.ReceiveOkAsync().Within();
        Assert.False(ok);
        Assert.IsType<PeerLostException>(receiver.Error);
    }

    [Fact]
    public async Task A_writer_waiting_for_a_reader_is_cancelled_and_so_is_a_reader_waiting_for_a_writer()
    {
        string path = PathOf("nobody.fifo");
        using var cts = new CancellationTokenSource();
        var writer = Gor.Run(async () => await IpcFifo.OpenSenderAsync(path, IpcCodec.Unmanaged<int>(), cancellationToken: cts.Token));
        await WaitFor(() => File.Exists(path));
        Assert.False(writer.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer);

        using var cts2 = new CancellationTokenSource();
        var reader = Gor.Run(async () => await IpcFifo.OpenReceiverAsync(path, IpcCodec.Unmanaged<int>(), cancellationToken: cts2.Token));
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader);

        // Nothing was left open: a writer now finds no reader (ENXIO), so the cancelled reader closed its descriptor.
        Assert.True(Libc.Open(path, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC) < 0);
        Assert.Equal(Libc.ENXIO, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
    }

    [Fact]
    public async Task A_symlink_a_regular_file_and_another_users_fifo_are_refused()
    {
        string fifo = PathOf("real.fifo");
        IpcFifo.EnsureFifo(fifo, Libc.GetUid());
        string link = PathOf("link.fifo");
        File.CreateSymbolicLink(link, fifo);
        var e = await Assert.ThrowsAsync<IOException>(async () => await IpcFifo.OpenReceiverAsync(link, IpcCodec.Unmanaged<int>()).AsTask().Within());
        Assert.Contains("is a symbolic link", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<IOException>(async () => await IpcFifo.OpenSenderAsync(link, IpcCodec.Unmanaged<int>()).AsTask().Within());
        Assert.Contains("is a symbolic link", e.Message, StringComparison.Ordinal);

        string file = PathOf("plain");
        File.WriteAllText(file, "x");
        e = await Assert.ThrowsAsync<IOException>(async () => await IpcFifo.OpenReceiverAsync(file, IpcCodec.Unmanaged<int>()).AsTask().Within());
        Assert.Contains("is a regular file, not a FIFO", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<IOException>(() => IpcFifo.EnsureFifo(_dir.FullName, Libc.GetUid()));
        Assert.Contains("is a directory, not a FIFO", e.Message, StringComparison.Ordinal);

        // Tests run as root, so another user's FIFO is the same FIFO checked against a uid that is not its owner's.
        uint stranger = Libc.GetUid() + 12345;
        e = Assert.Throws<IOException>(() => IpcFifo.EnsureFifo(fifo, stranger));
        Assert.Contains($"belongs to uid {Libc.GetUid()}, not to this process's user (uid {stranger})", e.Message, StringComparison.Ordinal);

        var missingDir = await Assert.ThrowsAsync<IpcException>(async () =>
            await IpcFifo.OpenReceiverAsync(PathOf("no/such/dir.fifo"), IpcCodec.Unmanaged<int>()).AsTask().Within());
        Assert.Equal("mkfifo", missingDir.Call);
        Assert.Equal(2, missingDir.Errno);

        await Assert.ThrowsAsync<ArgumentException>(async () => await IpcFifo.OpenReceiverAsync("", IpcCodec.Unmanaged<int>()));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await IpcFifo.OpenSenderAsync<int>(fifo, null!));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await IpcFifo.OpenSenderAsync(fifo, IpcCodec.Unmanaged<int>(), maxFrameSize: 0));
    }
}
