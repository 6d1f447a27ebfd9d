using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using Weft.Ipc;

namespace Weft.Bench;

// ipc-pipe: a 64-byte round trip between two processes over two anonymous pipes, goroutine to goroutine: this
// program starts itself again as the child (--ipc-pipe-peer pipe) through IpcChild.Start, the parent's goroutine sends a
// 64-byte value on the pipe to the child, the child's goroutine sends it back on the pipe to the parent. Each frame
// carries 5 bytes of header (length and kind) beside the 64 of payload.
// ipc-pipe.tpl: the same round trip with .NET's own AnonymousPipeServerStream/ClientStream, async on both sides
// (WriteAsync, ReadExactlyAsync), the child started with Process.Start and the handles as arguments.
// The C floor (bench/ipc-c, ipc-pipe.c) and Go's (bench/go/ipc, ipc-pipe.go) do the same with 64-byte messages.
//
// The child lives as long as this process (the harness's warm-up runs, then the measured ones), so both processes
// are warm when measured; it exits at the pipe's end when this process exits.

[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct Message64
{
    public long Sequence;
}

public sealed class IpcPipeWorkload : Workload
{
    private const int Rounds = 20_000;
    private static readonly IpcCodec<Message64> Codec = IpcCodec.Unmanaged<Message64>();

    private (Process Process, IpcSender<Message64> ToChild, IpcReceiver<Message64> FromChild)? _weft;
    private (Process Process, AnonymousPipeServerStream Down, AnonymousPipeServerStream Up)? _tpl;

    public override string Name => "ipc-pipe";
    public override bool OnlyByName => true;
    public override string Unit => "ns/roundtrip";
    public override int Repetitions => 7;

    public override double RunWeft()
    {
        _weft ??= IpcChild.Start(SelfStartInfo("pipe"), Codec, Codec);
        var (_, toChild, fromChild) = _weft.Value;
        var result = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            var m = default(Message64);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < Rounds; i++)
            {
                m.Sequence = i;
                await toChild.Channel.SendAsync(m);
                m = await fromChild.Channel.ReceiveAsync();
            }
            result.SetResult(sw.Elapsed.TotalNanoseconds / Rounds);
        });
        return result.Task.GetAwaiter().GetResult();
    }

    public override double? RunBaseline()
    {
        if (_tpl is null)
        {
            var down = new AnonymousPipeServerStream(PipeDirection.Out, HandleInheritability.Inheritable);
            var up = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.Inheritable);
            var psi = SelfStartInfo("tpl");
            psi.ArgumentList.Add(down.GetClientHandleAsString());
            psi.ArgumentList.Add(up.GetClientHandleAsString());
            var process = Process.Start(psi)!;
            down.DisposeLocalCopyOfClientHandle();
            up.DisposeLocalCopyOfClientHandle();
            _tpl = (process, down, up);
        }
        var (_, toChild, fromChild) = _tpl.Value;
        return Task.Run(async () =>
        {
            var buffer = new byte[64];
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < Rounds; i++)
            {
                await toChild.WriteAsync(buffer);
                await fromChild.ReadExactlyAsync(buffer);
            }
            return sw.Elapsed.TotalNanoseconds / Rounds;
        }).GetAwaiter().GetResult();
    }

    /// <summary>This program again, as the echoing child of <paramref name="kind"/> ("pipe" or "tpl").</summary>
    private static ProcessStartInfo SelfStartInfo(string kind) => PeerRoles.StartInfo("--ipc-pipe-peer", kind);

    /// <summary>The child's side (<c>--ipc-pipe-peer pipe|tpl [in out]</c>): echo every message until the stream ends; returns the exit code.</summary>
    public static int Peer(string[] args)
    {
        if (args[0] == "pipe")
        {
            return Go.RunMain(async () =>
            {
                using var input = IpcChild.OpenReceiverFromParent(Codec);
                using var output = IpcChild.OpenSenderToParent(Codec);
                await foreach (var m in input.Channel) await output.Channel.SendAsync(m);
            }).GetAwaiter().GetResult();
        }
        using var fromParent = new AnonymousPipeClientStream(PipeDirection.In, args[1]);
        using var toParent = new AnonymousPipeClientStream(PipeDirection.Out, args[2]);
        return Task.Run(async () =>
        {
            var buffer = new byte[64];
            while (true)
            {
                try { await fromParent.ReadExactlyAsync(buffer); }
                catch (EndOfStreamException) { return 0; }
                await toParent.WriteAsync(buffer);
            }
        }).GetAwaiter().GetResult();
    }
}
