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
// ipc-pipe-throughput: one-way 64-byte values from a goroutine to the child over one anonymous pipe (IpcChild, the
// child started as --ipc-pipe-peer pipe-sink), which counts them and answers only the last (Sequence -1) on the
// pipe back; messages per second. The C floor is ipc-pipe-throughput.c (write(2) to a pipe, read(2) in the child).
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

    /// <summary>This program again, as the child of <paramref name="kind"/> ("pipe" or "tpl" echo, "pipe-sink" counts).</summary>
    internal static ProcessStartInfo SelfStartInfo(string kind) => PeerRoles.StartInfo("--ipc-pipe-peer", kind);

    /// <summary>
    /// The child's side (<c>--ipc-pipe-peer pipe|pipe-sink|tpl [in out]</c>): echo every message until the stream ends (pipe,
    /// tpl), or count them and answer each marked last one with the count (pipe-sink); returns the exit code.
    /// </summary>
    public static int Peer(string[] args)
    {
        if (args[0] == "pipe-sink")
        {
            return Go.RunMain(async () =>
            {
                using var input = IpcChild.OpenReceiverFromParent(Codec);
                using var output = IpcChild.OpenSenderToParent(Codec);
                long n = 0;
                await foreach (var m in input.Channel)
                {
                    n++;
                    if (m.Sequence == -1) await output.Channel.SendAsync(new Message64 { Sequence = n });
                }
            }).GetAwaiter().GetResult();
        }
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

/// <summary>ipc-pipe-throughput: one-way 64-byte values from a goroutine to a child process over an anonymous pipe, in messages per second.</summary>
public sealed class IpcPipeThroughput : Workload
{
    private static readonly IpcCodec<Message64> Codec = IpcCodec.Unmanaged<Message64>();
    private (Process Process, IpcSender<Message64> ToChild, IpcReceiver<Message64> FromChild)? _child;
    private long _sent;

    public override string Name => "ipc-pipe-throughput";
    public override string Unit => "msgs/s";
    public override int Repetitions => 5;
    public override bool OnlyByName => true;

    public override double RunWeft()
    {
        _child ??= IpcChild.Start(IpcPipeWorkload.SelfStartInfo("pipe-sink"), Codec, Codec);
        var (_, toChild, fromChild) = _child.Value;
        long before = _sent;
        return IpcBench.OnGoroutine(async () =>
        {
            var m = default(Message64);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < IpcBench.Messages - 1; i++)
            {
                m.Sequence = i;
                await toChild.Channel.SendAsync(m);
            }
            m.Sequence = -1; // the last: the sink answers it with its count so far
            await toChild.Channel.SendAsync(m);
            var count = await fromChild.Channel.ReceiveAsync();
            double seconds = sw.Elapsed.TotalSeconds;
            _sent = before + IpcBench.Messages;
            if (count.Sequence != _sent) throw new InvalidOperationException($"the sink counted {count.Sequence.ToString(CultureInfo.InvariantCulture)} of {_sent.ToString(CultureInfo.InvariantCulture)} messages");
            return IpcBench.Messages / seconds;
        });
    }
}
