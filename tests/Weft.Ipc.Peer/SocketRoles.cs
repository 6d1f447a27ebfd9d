// Roles for the socket tests (tests/Weft.Ipc.Tests/SocketTests.cs): a client in another process, over a Unix
// socket or TCP, with the Unmanaged<long> codec.
using System.Net;

namespace Weft.Ipc.Peer;

internal static class SocketRoles
{
    private static ValueTask<IpcDuplex<long>> Connect(string kind, string where) => kind switch
    {
        "unix" => IpcSocket.ConnectUnixAsync(where, IpcCodec.Unmanaged<long>()),
        "tcp" => IpcSocket.ConnectTcpAsync(new IPEndPoint(IPAddress.Loopback, int.Parse(where, System.Globalization.CultureInfo.InvariantCulture)), IpcCodec.Unmanaged<long>()),
        _ => throw new ArgumentException($"kind '{kind}': expected unix or tcp"),
    };

    /// <summary>
    /// socket-echo unix|tcp PATH|PORT: connects, prints "ready", sends back every value it receives, and when the
    /// listener's side closes, closes its own side (the close frame) and exits 0.
    /// </summary>
    [Role("socket-echo")]
    public static async Task<int> Echo(string[] args)
    {
        using var conn = await Connect(args[0], args[1]);
        Console.WriteLine("ready");
        Console.Out.Flush();
        while (true)
        {
            var (v, ok) = await conn.Receiver.Channel.ReceiveOkAsync();
            if (!ok) break;
            await conn.Sender.Channel.SendAsync(v);
        }
        if (conn.Receiver.Error is { } e)
        {
            Console.Error.WriteLine("the stream failed: " + e);
            return 1;
        }
        conn.Sender.Channel.Close();
        return 0;
    }

    /// <summary>socket-send-and-hang unix|tcp PATH|PORT N: connects, sends 0..N-1, prints "sent", then waits to be killed.</summary>
    [Role("socket-send-and-hang")]
    public static async Task<int> SendAndHang(string[] args)
    {
        var conn = await Connect(args[0], args[1]);
        int n = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        for (long i = 0; i < n; i++) await conn.Sender.Channel.SendAsync(i);
        Console.WriteLine("sent");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(conn);
        return 0;
    }
}
