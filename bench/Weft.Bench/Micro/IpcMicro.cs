using BenchmarkDotNet.Attributes;
using Weft.Ipc;

namespace Weft.Bench.Micro;

/// <summary>
/// Allocation proof for the IPC hot path (issue 16): a round trip over two in-process pipes, the benchmark's thread
/// sending and receiving with the blocking forms and an echo goroutine on the other side, must show 0 B/op. Each
/// round trip frames, writes, polls (the netpoller), reads and decodes two messages, and wakes a parked goroutine
/// and a parked thread once each.
/// Run: dotnet run -c Release --project bench/Weft.Bench -- --micro --filter '*IpcMicro*' --job short
/// </summary>
[MemoryDiagnoser]
public class IpcMicro
{
    private const int Ops = 1024;
    private IpcSender<long> _pingOut = null!, _pongOut = null!;
    private IpcReceiver<long> _pingIn = null!, _pongIn = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_pingOut, _pingIn) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        (_pongOut, _pongIn) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        var pingIn = _pingIn.Channel;
        var pongOut = _pongOut.Channel;
        Go.Run(async () =>
        {
            while (true)
            {
                var (v, ok) = await pingIn.ReceiveOkAsync();
                if (!ok) return;
                await pongOut.SendAsync(v + 1);
            }
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pingOut.Dispose();
        _pingIn.Dispose();
        _pongOut.Dispose();
        _pongIn.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public long PipeRoundTrip()
    {
        long sum = 0;
        for (long i = 0; i < Ops; i++)
        {
            _pingOut.Channel.Send(i);
            sum += _pongIn.Channel.Receive();
        }
        return sum;
    }
}
