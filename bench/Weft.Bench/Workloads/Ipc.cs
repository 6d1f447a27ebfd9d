using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Weft.Ipc;

namespace Weft.Bench;

// The socket rows of issue 16: two processes, this one and a copy of this program started as its peer
// (--ipc-peer ROLE KIND ADDRESS), over a Unix socket or TCP loopback, with 64-byte messages as bench/ipc-c and
// bench/go/ipc send them.
//   ipc-unix, ipc-tcp           Weft: a goroutine sends a 64-byte value on an IpcSocket connection and receives the
//                               echo, which a goroutine in the peer sends back; ns per round trip.
//   ipc-unix.tpl, ipc-tcp.tpl   .NET's own: Socket.SendAsync/ReceiveAsync on both sides (the socket engine and
//                               the ThreadPool), the same 64 bytes; ns per round trip.
//   ipc-unix-throughput         Weft: one-way 64-byte values from a goroutine to the peer, which answers once at the
//                               end; messages per second.
// The peer is started once per measuring process and kept for every repetition (a process start costs more than a
// measurement); it exits when its connection ends.

/// <summary>64 bytes, the message of every IPC row.</summary>
[InlineArray(64)]
public struct Msg64
{
    private byte _b;
}

internal static class IpcBench
{
    public const int Rounds = 20_000;
    public const int Messages = Rounds * 20;

    private static readonly IpcCodec<Msg64> Codec = IpcCodec.Unmanaged<Msg64>();

    /// <summary>Starts this program as the peer in <paramref name="role"/>, connecting to <paramref name="address"/>.</summary>
    public static Process StartPeer(string role, string kind, string address)
    {
        return Process.Start(PeerRoles.StartInfo("--ipc-peer", role, kind, address))!;
    }

    public static IpcListener<Msg64> Listen(string kind, out string address)
    {
        if (kind == "unix")
        {
            var l = IpcSocket.ListenUnix(IpcSocket.UnixPath($"bench-{Environment.ProcessId}.sock"), Codec);
            address = l.Path!;
            return l;
        }
        var t = IpcSocket.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), Codec);
        address = t.EndPoint!.Port.ToString(CultureInfo.InvariantCulture);
        return t;
    }

    public static T OnGoroutine<T>(Func<Task<T>> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try
            {
                done.SetResult(await body());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        return done.Task.GetAwaiter().GetResult();
    }

    /// <summary>The peer: --ipc-peer echo|sink|tpl-echo unix|tcp ADDRESS.</summary>
    public static int RunPeer(string[] args)
    {
        string role = args[0], kind = args[1], address = args[2];
        if (role == "tpl-echo") return TplEcho(kind, address).GetAwaiter().GetResult();
        return OnGoroutine(async () =>
        {
            using var conn = kind == "unix"
                ? await IpcSocket.ConnectUnixAsync(address, Codec)
                : await IpcSocket.ConnectTcpAsync(new IPEndPoint(IPAddress.Loopback, int.Parse(address, CultureInfo.InvariantCulture)), Codec);
            var rx = conn.Receiver.Channel;
            var tx = conn.Sender.Channel;
            while (true)
            {
                var (m, ok) = await rx.ReceiveOkAsync();
                if (!ok) return 0;
                if (role == "echo" || m[0] == 1) await tx.SendAsync(m); // sink: answer only the last message, marked 1
            }
        });
    }

    private static async Task<int> TplEcho(string kind, string address)
    {
        using var s = kind == "unix" ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (kind == "unix") await s.ConnectAsync(new UnixDomainSocketEndPoint(address));
        else
        {
            s.NoDelay = true;
            await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, int.Parse(address, CultureInfo.InvariantCulture)));
        }
        var buf = new byte[64];
        while (await ReadFull(s, buf)) await s.SendAsync(buf);
        return 0;
    }

    public static async Task<bool> ReadFull(Socket s, Memory<byte> buf)
    {
        int got = 0;
        while (got < buf.Length)
        {
            int n = await s.ReceiveAsync(buf[got..]);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }
}

/// <summary>ipc-unix / ipc-tcp: Weft's 64-byte round trip between two processes, goroutine to goroutine; .tpl: .NET's Socket async.</summary>
public sealed class IpcRoundTrip(string kind) : Workload
{
    private IpcDuplex<Msg64>? _conn;
    private Socket? _tpl;

    public override string Name => "ipc-" + kind;
    public override string Unit => "ns/roundtrip";
    public override int Repetitions => 5;
    public override bool OnlyByName => true;

    public override double RunWeft()
    {
        _conn ??= Connect();
        var conn = _conn;
        return IpcBench.OnGoroutine(async () =>
        {
            var m = default(Msg64);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < IpcBench.Rounds; i++)
            {
                await conn.Sender.Channel.SendAsync(m);
                m = await conn.Receiver.Channel.ReceiveAsync();
            }
            return sw.Elapsed.TotalNanoseconds / IpcBench.Rounds;
        });
    }

    private IpcDuplex<Msg64> Connect()
    {
        var listener = IpcBench.Listen(kind, out string address);
        IpcBench.StartPeer("echo", kind, address);
        var conn = IpcBench.OnGoroutine(async () => (await listener.Connections.ReceiveAsync())!);
        listener.Dispose(); // the connection stays; the socket file goes
        return conn;
    }

    public override double? RunBaseline()
    {
        _tpl ??= ConnectTpl();
        var s = _tpl;
        return Task.Run(async () =>
        {
            var buf = new byte[64];
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < IpcBench.Rounds; i++)
            {
                await s.SendAsync(buf);
                if (!await IpcBench.ReadFull(s, buf)) throw new InvalidOperationException("the .NET echo peer closed early");
            }
            return sw.Elapsed.TotalNanoseconds / IpcBench.Rounds;
        }).GetAwaiter().GetResult();
    }

    private Socket ConnectTpl()
    {
        Socket listener;
        string address;
        if (kind == "unix")
        {
            string path = IpcSocket.UnixPath($"bench-tpl-{Environment.ProcessId}.sock");
            File.Delete(path);
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            address = path;
        }
        else
        {
            listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            address = ((IPEndPoint)listener.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);
        }
        listener.Listen(1);
        IpcBench.StartPeer("tpl-echo", kind, address);
        var s = listener.Accept();
        if (kind == "tcp") s.NoDelay = true;
        listener.Dispose();
        return s;
    }
}

/// <summary>ipc-unix-throughput: one-way 64-byte values from a goroutine to another process over a Unix socket, in messages per second.</summary>
public sealed class IpcUnixThroughput : Workload
{
    private IpcDuplex<Msg64>? _conn;

    public override string Name => "ipc-unix-throughput";
    public override string Unit => "msgs/s";
    public override int Repetitions => 5;
    public override bool OnlyByName => true;

    public override double RunWeft()
    {
        if (_conn is null)
        {
            var listener = IpcBench.Listen("unix", out string address);
            IpcBench.StartPeer("sink", "unix", address);
            _conn = IpcBench.OnGoroutine(async () => (await listener.Connections.ReceiveAsync())!);
            listener.Dispose();
        }
        var conn = _conn;
        return IpcBench.OnGoroutine(async () =>
        {
            var m = default(Msg64);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < IpcBench.Messages - 1; i++) await conn.Sender.Channel.SendAsync(m);
            m[0] = 1; // the last: the sink answers it
            await conn.Sender.Channel.SendAsync(m);
            await conn.Receiver.Channel.ReceiveAsync();
            return IpcBench.Messages / sw.Elapsed.TotalSeconds;
        });
    }
}
