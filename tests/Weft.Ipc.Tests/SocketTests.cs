using System.Diagnostics;
using System.Net;
using Weft.Ipc.Interop;
using Weft.Ipc.Sockets;
using Weft.Tests;
using Xunit;
using static Weft.Ipc.Tests.Sequences;

namespace Weft.Ipc.Tests;

/// <summary>Unix socket and TCP listeners and connects (src/Weft.Ipc/Sockets): accept as a channel, order, peers, security.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SocketTests
{
    private static readonly IpcCodec<long> Longs = IpcCodec.Unmanaged<long>();

    /// <summary>A fresh directory path (not created: the listener makes it 0700), removed by Dispose.</summary>
    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = "/tmp/weft-st-" + Guid.NewGuid().ToString("N")[..10];

        public string Sock(string name = "s.sock") => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
    }

    private sealed class Server : IDisposable
    {
        private readonly TempDir? _dir;

        public Server(string kind, IpcSocketOptions? options = null)
        {
            if (kind == "unix")
            {
                _dir = new TempDir();
                Listener = IpcSocket.ListenUnix(_dir.Sock(), Longs, options);
                Address = Listener.Path!;
            }
            else
            {
                Listener = IpcSocket.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), Longs, options);
                Address = Listener.EndPoint!.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            Kind = kind;
        }

        public string Kind { get; }

        public string Address { get; }

        public IpcListener<long> Listener { get; }

        public ValueTask<IpcDuplex<long>> ConnectAsync(CancellationToken token = default) => Kind == "unix"
            ? IpcSocket.ConnectUnixAsync(Address, Longs, cancellationToken: token)
            : IpcSocket.ConnectTcpAsync(Listener.EndPoint!, Longs, cancellationToken: token);

        public void Dispose()
        {
            Listener.Dispose();
            _dir?.Dispose();
        }
    }

    [Fact]
    public async Task Accept_is_a_select_case_beside_a_local_channel_and_a_timer_and_each_fires_exactly_once()
    {
        using var server = new Server("unix");
        var local = new Chan<int>(1);
        local.TrySend(7);
        var timer = Go.After(TimeSpan.FromMilliseconds(30));
        var connecting = server.ConnectAsync().AsTask();
        int accepts = 0, locals = 0, ticks = 0;
        IpcDuplex<long>? accepted = null;
        await Gor.Run(async () =>
        {
            var sel = new Select();
            var a = sel.Receive(server.Listener.Connections);
            var l = sel.Receive((ReceiveOnlyChan<int>)local);
            var t = sel.Receive(timer);
            while (a.Channel is not null || l.Channel is not null || t.Channel is not null)
            {
                switch (await sel.WaitAsync())
                {
                    case 0:
                        accepts++;
                        accepted = a.Value;
                        a.Channel = null;
                        break;
                    case 1:
                        locals++;
                        Assert.Equal(7, l.Value);
                        l.Channel = null;
                        break;
                    default:
                        ticks++;
                        t.Channel = null;
                        break;
                }
            }
        });
        Assert.Equal((1, 1, 1), (accepts, locals, ticks));
        using var client = await connecting.Within();
        using (accepted)
        {
            await client.Sender.Channel.SendAsync(41).Within();
            Assert.Equal(41, await accepted!.Receiver.Channel.ReceiveAsync().Within());
            await accepted.Sender.Channel.SendAsync(42).Within();
            Assert.Equal(42, await client.Receiver.Channel.ReceiveAsync().Within());
        }
        Assert.False(server.Listener.Connections.TryReceive(out _)); // exactly one connection was made
    }

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task Many_clients_every_value_arrives_exactly_once_and_in_order_per_connection(string kind)
    {
        const int Clients = 8, N = 2_000;
        using var server = new Server(kind);
        var serving = Gor.Run(async () =>
        {
            var drains = new List<Task<List<long>>>();
            for (int c = 0; c < Clients; c++)
            {
                var conn = await server.Listener.Connections.ReceiveAsync();
                drains.Add(GoTaskDrain(conn!));
            }
            return await Task.WhenAll(drains);
        });
        var clients = Enumerable.Range(0, Clients).Select(id => Gor.Run(async () =>
        {
            using var conn = await server.ConnectAsync();
            for (long i = 0; i < N; i++) await conn.Sender.Channel.SendAsync((id * 1_000_000L) + i);
            conn.Sender.Channel.Close();
            var (_, ok) = await conn.Receiver.Channel.ReceiveOkAsync(); // the server closes after the drain
            Assert.False(ok);
            Assert.Null(conn.Receiver.Error);
        })).ToArray();
        await Task.WhenAll(clients);
        var perConnection = await serving;
        var ids = new HashSet<long>();
        foreach (var got in perConnection)
        {
            Assert.Equal(N, got.Count);
            long id = got[0] / 1_000_000;
            Assert.True(ids.Add(id), $"client {id} arrived on two connections");
            AssertSequence(got.Select(v => v - (id * 1_000_000)).ToList(), N);
        }
        Assert.Equal(Enumerable.Range(0, Clients).Select(i => (long)i).ToHashSet(), ids);

        static Task<List<long>> GoTaskDrain(IpcDuplex<long> conn) => Gor.Run(async () =>
        {
            using (conn)
            {
                var got = await Drain(conn.Receiver.Channel);
                Assert.Null(conn.Receiver.Error);
                return got;
            }
        });
    }

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task A_client_in_another_process_echoes_every_value_in_order_and_exits_on_the_close_frame(string kind)
    {
        const int N = 2_000;
        using var server = new Server(kind);
        using var peer = PeerProcess.Start("socket-echo", kind, server.Address);
        using var conn = (await server.Listener.Connections.ReceiveAsync().Within())!;
        await peer.WaitReadyAsync();
        var echoes = Gor.Run(() => Drain(conn.Receiver.Channel));
        await Gor.Run(() => SendAll(conn.Sender.Channel, N));
        AssertSequence(await echoes, N);
        Assert.Null(conn.Receiver.Error);
        Assert.True(0 == await peer.WaitForExitAsync(), peer.Stderr);
    }

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task Kill_9_of_a_connected_peer_gives_PeerLost_after_its_values_never_a_hang(string kind)
    {
        const int N = 100;
        using var server = new Server(kind);
        using var peer = PeerProcess.Start("socket-send-and-hang", kind, server.Address, N.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var conn = (await server.Listener.Connections.ReceiveAsync().Within())!;
        await peer.WaitForLineAsync(l => l == "sent");
        peer.KillHard();
        AssertSequence(await Drain(conn.Receiver.Channel).Within(), N);
        var lost = Assert.IsType<PeerLostException>(conn.Receiver.Error);
        Assert.Contains("without a close frame", lost.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_socket_directory_is_0700_the_socket_0600_and_Dispose_removes_the_socket()
    {
        using var dir = new TempDir();
        string path = dir.Sock();
        var listener = IpcSocket.ListenUnix(path, Longs);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal("s", Stat("%F", path)[..1]); // "socket"
        Assert.Equal("700 600", Stat("%a", dir.Path) + " " + Stat("%a", path)); // as stat(1) shows them
        listener.Dispose();
        Assert.False(File.Exists(path));
        Assert.True(listener.Connections.TryReceive(out _, out bool ok)); // closed: ok = false
        Assert.False(ok);
    }

    private static string Stat(string format, string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", ["-c", format, path]) { RedirectStandardOutput = true })!;
        string output = p.StandardOutput.ReadToEnd().Trim();
        Assert.True(p.WaitForExit(TestTimeout.Default));
        return output;
    }

    [Fact]
    public void DefaultDirectory_and_UnixPath_give_a_private_directory()
    {
        string path = IpcSocket.UnixPath("weft-test.sock");
        Assert.Equal(Path.Combine(IpcSocket.DefaultDirectory, "weft-test.sock"), path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(IpcSocket.DefaultDirectory));
        Assert.Throws<ArgumentException>(() => IpcSocket.UnixPath("a/b"));
        Assert.Throws<ArgumentException>(() => IpcSocket.UnixPath(".."));
        Assert.Throws<ArgumentNullException>(() => IpcSocket.UnixPath(null!));
    }

    private static Libc.UCred Foreign(int fd) => new() { Pid = 4242, Uid = 4242, Gid = 4343 };

    [Fact]
    public async Task A_peer_of_another_uid_is_refused_reported_and_told_why_and_an_allowed_uid_is_admitted()
    {
        using var dir = new TempDir();
        using (var listener = IpcSocket.ListenUnixCore(dir.Sock(), Longs, null, Foreign))
        {
            var accepting = Gor.Run(async () => (await listener.Connections.ReceiveOkAsync()).Ok); // refusals happen while accepting
            using var client = await IpcSocket.ConnectUnixAsync(dir.Sock(), Longs).Within();
            var refusal = await listener.Refusals.ReceiveAsync().Within();
            Assert.Equal((4242, 4242u, 4343u), (refusal!.ProcessId, refusal.UserId, refusal.GroupId));
            Assert.Equal(dir.Sock(), refusal.Endpoint);
            Assert.Contains("uid 4242 is not this process's uid", refusal.Reason, StringComparison.Ordinal);
            Assert.Equal(1, listener.RefusedCount);
            Assert.False(listener.Connections.TryReceive(out _));
            // The client learns why: an error frame, then the end.
            Assert.False((await client.Receiver.Channel.ReceiveOkAsync().Within()).Ok);
            var error = Assert.IsType<IpcProtocolException>(client.Receiver.Error);
            Assert.Contains("refused by the listener", error.Message, StringComparison.Ordinal);
            Assert.Contains("4242", error.Message, StringComparison.Ordinal);
            listener.Dispose();
            Assert.False(await accepting); // the refused connection never reached Connections
        }
        using (var listener = IpcSocket.ListenUnixCore(dir.Sock(), Longs, new IpcSocketOptions { AllowedUids = [4242] }, Foreign))
        {
            using var client = await IpcSocket.ConnectUnixAsync(dir.Sock(), Longs).Within();
            using var accepted = (await listener.Connections.ReceiveAsync().Within())!;
            await client.Sender.Channel.SendAsync(5).Within();
            Assert.Equal(5, await accepted.Receiver.Channel.ReceiveAsync().Within());
            Assert.Equal(0, listener.RefusedCount);
        }
    }

    [Fact]
    public async Task Refusals_beyond_the_channel_capacity_are_counted_as_dropped()
    {
        using var dir = new TempDir();
        using var listener = IpcSocket.ListenUnixCore(dir.Sock(), Longs, new IpcSocketOptions { RefusalCapacity = 1 }, Foreign);
        var clients = new List<IpcDuplex<long>>();
        for (int i = 0; i < 3; i++) clients.Add(await IpcSocket.ConnectUnixAsync(dir.Sock(), Longs).Within());
        Assert.False(listener.Connections.TryReceive(out _)); // accepts (and refuses) the three queued connections
        foreach (var c in clients)
        {
            Assert.False((await c.Receiver.Channel.ReceiveOkAsync().Within()).Ok);
        }
        Assert.False(listener.Connections.TryReceive(out _));
        Assert.Equal(3, listener.RefusedCount);
        Assert.Equal(2, listener.RefusalsDropped);
        Assert.True(listener.Refusals.TryReceive(out _));
        foreach (var c in clients) c.Dispose();
    }

    [Fact]
    public async Task A_client_refuses_a_listener_of_another_uid_before_sending_anything()
    {
        using var dir = new TempDir();
        using var listener = IpcSocket.ListenUnix(dir.Sock(), Longs);
        var ex = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => IpcSocket.ConnectUnixCoreAsync(dir.Sock(), Longs, null, Foreign, default).AsTask()).Within();
        Assert.Contains("uid 4242", ex.Message, StringComparison.Ordinal);
        using var allowed = await IpcSocket.ConnectUnixCoreAsync(dir.Sock(), Longs, new IpcSocketOptions { AllowedUids = [4242] }, Foreign, default).Within();
    }

    [Fact]
    public void The_peer_rule_admits_this_uid_and_the_allow_list_only()
    {
        Assert.Null(SocketSetup.CheckPeer(1000, 1000, null));
        Assert.Null(SocketSetup.CheckPeer(1001, 1000, [1001, 1002]));
        Assert.Contains("allow-list (none", SocketSetup.CheckPeer(1001, 1000, null), StringComparison.Ordinal);
        Assert.Contains("allow-list (1002, 1003", SocketSetup.CheckPeer(1001, 1000, [1003, 1002]), StringComparison.Ordinal);
        Assert.NotNull(SocketSetup.CheckPeer(0, 1000, [])); // root is not special
    }

    [Fact]
    public void A_symlink_at_the_socket_path_or_as_its_directory_is_refused()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(dir.Sock("target"), "");
        File.CreateSymbolicLink(dir.Sock(), dir.Sock("target"));
        var ex = Assert.Throws<IOException>(() => IpcSocket.ListenUnix(dir.Sock(), Longs));
        Assert.Contains("is a symbolic link", ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.Sock("target"))); // nothing was removed

        using var real = new TempDir();
        Directory.CreateDirectory(real.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string linkDir = dir.Sock("linked");
        Directory.CreateSymbolicLink(linkDir, real.Path);
        ex = Assert.Throws<IOException>(() => IpcSocket.ListenUnix(Path.Combine(linkDir, "s.sock"), Longs));
        Assert.Contains("socket directory", ex.Message, StringComparison.Ordinal);
        Assert.Contains("symbolic link", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_path_or_directory_of_another_user_or_a_shared_directory_is_refused()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        uint self = Libc.GetUid();
        if (self == 0)
        {
            // Root can make real foreign files: a file and a directory owned by uid 4242.
            File.WriteAllText(dir.Sock(), "");
            Chown("4242", dir.Sock());
            var ex = Assert.Throws<IOException>(() => IpcSocket.ListenUnix(dir.Sock(), Longs));
            Assert.Contains("belongs to uid 4242", ex.Message, StringComparison.Ordinal);
            Assert.True(File.Exists(dir.Sock())); // never removed

            string foreignDir = dir.Sock("theirs");
            Directory.CreateDirectory(foreignDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Chown("4242", foreignDir);
            ex = Assert.Throws<IOException>(() => IpcSocket.ListenUnix(Path.Combine(foreignDir, "s.sock"), Longs));
            Assert.Contains("belongs to uid 4242", ex.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("belongs to uid 4242", Assert.Throws<IOException>(() => SocketSetup.CheckExistingSocket("p", 0xC180, 4242, self)).Message, StringComparison.Ordinal);
            Assert.Contains("belongs to uid 4242", Assert.Throws<IOException>(() => SocketSetup.CheckPrivateDirectory("d", 0x41C0, 4242, self)).Message, StringComparison.Ordinal);
        }

        string shared = dir.Sock("shared");
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var shx = Assert.Throws<IOException>(() => IpcSocket.ListenUnix(Path.Combine(shared, "s.sock"), Longs));
        Assert.Contains("has mode 755", shx.Message, StringComparison.Ordinal);

        File.WriteAllText(dir.Sock("plain"), "");
        Assert.Contains("is not a socket", Assert.Throws<IOException>(() => IpcSocket.ListenUnix(dir.Sock("plain"), Longs)).Message, StringComparison.Ordinal);
    }

    private static void Chown(string owner, string path)
    {
        using var p = Process.Start("chown", [owner, path]);
        Assert.True(p.WaitForExit(TestTimeout.Default));
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public async Task A_stale_socket_of_this_user_is_replaced_and_a_served_one_is_refused_as_in_use()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using (var stale = SocketSetup.NewSocket(Libc.AF_UNIX))
        {
            BindRaw(stale, dir.Sock()); // closed without unlink, as by a crashed process
        }
        Assert.True(File.Exists(dir.Sock()));
        using var listener = IpcSocket.ListenUnix(dir.Sock(), Longs);
        using var client = await IpcSocket.ConnectUnixAsync(dir.Sock(), Longs).Within();
        using var accepted = (await listener.Connections.ReceiveAsync().Within())!;

        var ex = Assert.Throws<IOException>(() => IpcSocket.ListenUnix(dir.Sock(), Longs));
        Assert.Contains("is in use", ex.Message, StringComparison.Ordinal);
    }

    private static unsafe void BindRaw(FileDescriptor fd, string path)
    {
        byte* address = stackalloc byte[Libc.SockaddrMax];
        Assert.Equal(0, Libc.Bind(fd.Fd, address, SocketSetup.UnixAddress(path, address)));
    }

    [Fact]
    public async Task Tcp_refuses_a_non_loopback_address_without_the_option_and_accepts_it_with()
    {
        var any = new IPEndPoint(IPAddress.Any, 0);
        var ex = Assert.Throws<ArgumentException>(() => IpcSocket.ListenTcp(any, Longs));
        Assert.Contains("AllowNonLoopback", ex.Message, StringComparison.Ordinal);
        Assert.Equal("endPoint", ex.ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => IpcSocket.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 80), Longs).AsTask()).Within();
        Assert.Throws<ArgumentException>(() => IpcSocket.ListenTcp(new IPEndPoint(IPAddress.IPv6Any, 0), Longs));

        using var listener = IpcSocket.ListenTcp(any, Longs, new IpcSocketOptions { AllowNonLoopback = true });
        using var client = await IpcSocket.ConnectTcpAsync(new IPEndPoint(IPAddress.Loopback, listener.EndPoint!.Port), Longs).Within();
        using var accepted = (await listener.Connections.ReceiveAsync().Within())!;
        await client.Sender.Channel.SendAsync(3).Within();
        Assert.Equal(3, await accepted.Receiver.Channel.ReceiveAsync().Within());

        using var v6 = IpcSocket.ListenTcp(new IPEndPoint(IPAddress.IPv6Loopback, 0), Longs); // ::1 is loopback
        using var v6Client = await IpcSocket.ConnectTcpAsync(v6.EndPoint!, Longs).Within();
        using var v6Accepted = (await v6.Connections.ReceiveAsync().Within())!;
    }

    [Fact]
    public async Task Connecting_to_nothing_fails_with_the_errno_and_the_address()
    {
        using var dir = new TempDir();
        var unix = await Assert.ThrowsAsync<IpcException>(() => IpcSocket.ConnectUnixAsync(dir.Sock(), Longs).AsTask()).Within();
        Assert.Equal(Libc.ENOENT, unix.Errno);
        Assert.Contains(dir.Sock(), unix.Message, StringComparison.Ordinal);

        int port;
        using (var l = IpcSocket.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), Longs)) port = l.EndPoint!.Port;
        var tcp = await Assert.ThrowsAsync<IpcException>(() => IpcSocket.ConnectTcpAsync(new IPEndPoint(IPAddress.Loopback, port), Longs).AsTask()).Within();
        Assert.Equal(Libc.ECONNREFUSED, tcp.Errno);
        Assert.Contains("127.0.0.1:" + port, tcp.Message, StringComparison.Ordinal);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => IpcSocket.ConnectTcpAsync(new IPEndPoint(IPAddress.Loopback, port), Longs, cancellationToken: cts.Token).AsTask()).Within();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => IpcSocket.ConnectUnixAsync(dir.Sock(), Longs, cancellationToken: cts.Token).AsTask()).Within();
    }

    [Fact]
    public async Task Dispose_closes_Connections_for_a_parked_accept_and_disposes_a_connection_nobody_received()
    {
        using var dir = new TempDir();
        var listener = IpcSocket.ListenUnix(dir.Sock(), Longs);
        var parked = Gor.Run(async () => (await listener.Connections.ReceiveOkAsync()).Ok);
        await Task.Delay(20);
        listener.Dispose();
        Assert.False(await parked);
        Assert.Null(listener.Error);
        Assert.False(File.Exists(dir.Sock()));
        Assert.False((await listener.Refusals.ReceiveOkAsync().Within()).Ok);
        listener.Dispose(); // idempotent
    }

    [Fact]
    public async Task Bad_arguments_name_what_is_wrong()
    {
        using var dir = new TempDir();
        Assert.Throws<ArgumentNullException>(() => IpcSocket.ListenUnix(null!, Longs));
        Assert.Throws<ArgumentException>(() => IpcSocket.ListenUnix("", Longs));
        Assert.Throws<ArgumentNullException>(() => IpcSocket.ListenUnix<long>(dir.Sock(), null!));
        var tooLong = Assert.Throws<ArgumentException>(() => IpcSocket.ListenUnix("/tmp/" + new string('x', 120), Longs));
        Assert.Contains("limit (sockaddr_un) is 107", tooLong.Message, StringComparison.Ordinal);
        var backlog = Assert.Throws<ArgumentOutOfRangeException>(() => IpcSocket.ListenUnix(dir.Sock(), Longs, new IpcSocketOptions { Backlog = 0 }));
        Assert.Contains("Backlog", backlog.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcSocket.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), Longs, new IpcSocketOptions { MaxFrameSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcSocket.ListenUnix(dir.Sock(), Longs, new IpcSocketOptions { RefusalCapacity = -1 }));
        Assert.Throws<ArgumentNullException>(() => IpcSocket.ListenTcp(null!, Longs));
        await Assert.ThrowsAsync<ArgumentNullException>(() => IpcSocket.ConnectUnixAsync(null!, Longs).AsTask()).Within();
        await Assert.ThrowsAsync<ArgumentNullException>(() => IpcSocket.ConnectTcpAsync<long>(new IPEndPoint(IPAddress.Loopback, 1), null!).AsTask()).Within();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => IpcSocket.ConnectUnixAsync(dir.Sock(), Longs, new IpcSocketOptions { MaxFrameSize = 17 << 20 }).AsTask()).Within();
    }

    [Fact]
    public async Task A_codec_mismatch_between_client_and_listener_is_a_protocol_error_naming_both()
    {
        using var dir = new TempDir();
        using var listener = IpcSocket.ListenUnix(dir.Sock(), Longs);
        using var client = await IpcSocket.ConnectUnixAsync(dir.Sock(), IpcCodec.Utf8()).Within();
        using var accepted = (await listener.Connections.ReceiveAsync().Within())!;
        await client.Sender.Channel.SendAsync("x").Within();
        Assert.False((await accepted.Receiver.Channel.ReceiveOkAsync().Within()).Ok);
        var ex = Assert.IsType<IpcProtocolException>(accepted.Receiver.Error);
        Assert.Contains("Unmanaged<Int64>", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task A_connect_that_waits_on_a_full_backlog_is_cancellable_and_the_next_accept_still_works(string kind)
    {
        // Nobody accepts and the backlog is 1, so the kernel soon stops completing connects: a Unix connect says
        // EAGAIN (the retry loop waits), a TCP SYN is dropped (the connect waits for writability in the netpoller).
        using var server = new Server(kind, new IpcSocketOptions { Backlog = 1 });
        var made = new List<IpcDuplex<long>>();
        OperationCanceledException? cancelled = null;
        for (int i = 0; i < 8 && cancelled is null; i++)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1)); // long enough for a connect the kernel completes, even under load
            try
            {
                made.Add(await server.ConnectAsync(cts.Token).Within());
            }
            catch (OperationCanceledException ex)
            {
                cancelled = ex;
            }
        }
        Assert.NotNull(cancelled);
        Assert.InRange(made.Count, 1, 4); // the backlog, plus what the kernel rounds it up to
        foreach (var m in made)
        {
            using var accepted = (await server.Listener.Connections.ReceiveAsync().Within())!;
            await m.Sender.Channel.SendAsync(9).Within();
            Assert.Equal(9, await accepted.Receiver.Channel.ReceiveAsync().Within());
            m.Dispose();
        }
    }

    [Fact]
    public async Task Accepts_cancelled_at_random_moments_lose_no_connection_and_take_none_twice()
    {
        const int Clients = 40;
        using var server = new Server("unix");
        var clients = new List<IpcDuplex<long>>();
        var accepted = new List<IpcDuplex<long>>();
        await Gor.Run(async () =>
        {
            var rng = new Random(16);
            for (int i = 0; i < Clients; i++)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(rng.Next(0, 3)));
                var accepting = server.Listener.Connections.ReceiveAsync(cts.Token); // parks first
                var connecting = server.ConnectAsync();
                try
                {
                    accepted.Add((await accepting)!);
                }
                catch (OperationCanceledException)
                {
                    // the connection, if the kernel had it, waits in the channel or the backlog
                }
                clients.Add(await connecting);
            }
            while (accepted.Count < Clients) accepted.Add((await server.Listener.Connections.ReceiveAsync())!);
        });
        Assert.False(server.Listener.Connections.TryReceive(out _)); // none left over, none made twice
        for (int i = 0; i < Clients; i++) await clients[i].Sender.Channel.SendAsync(i).Within();
        var got = new List<long>();
        foreach (var a in accepted) got.Add(await a.Receiver.Channel.ReceiveAsync().Within());
        Assert.Equal(Enumerable.Range(0, Clients).Select(i => (long)i), got.Order());
        foreach (var c in clients.Concat(accepted)) c.Dispose();
    }
}
