using BenchmarkDotNet.Attributes;
using Weft.Ipc;

namespace Weft.Bench.Micro;

/// <summary>
/// Allocation proof for the IPC hot path (issue 16): a round trip over two in-process pipes, the benchmark's thread
/// sending and receiving with the blocking forms and an echo goroutine on the other side, must show 0 B/op. Each
/// round trip frames, writes, polls (the netpoller), reads and decodes two messages, and wakes a parked goroutine
/// and a parked thread once each.
/// PooledBytesRoundTrip does the same with 64-byte runs through IpcCodec.PooledBytes, each received array going back
/// to the pool: 0 B/op too, where IpcCodec.Bytes allocates the array it returns.
/// Run: dotnet run -c Release --project bench/Weft.Bench -- --micro --filter '*IpcMicro*' --job short
/// </summary>
[MemoryDiagnoser]
public class IpcMicro
{
    private const int Ops = 1024;
    private IpcSender<long> _pingOut = null!, _pongOut = null!;
    private IpcReceiver<long> _pingIn = null!, _pongIn = null!;
    private IpcSender<ArraySegment<byte>> _bytesPingOut = null!, _bytesPongOut = null!;
    private IpcReceiver<ArraySegment<byte>> _bytesPingIn = null!, _bytesPongIn = null!;
    private readonly ArraySegment<byte> _run = new(new byte[64]);

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

        var bytes = IpcCodec.PooledBytes(64);
        (_bytesPingOut, _bytesPingIn) = IpcPipe.Create(bytes, maxFrameSize: 64);
        (_bytesPongOut, _bytesPongIn) = IpcPipe.Create(bytes, maxFrameSize: 64);
        var bytesIn = _bytesPingIn.Channel;
        var bytesOut = _bytesPongOut.Channel;
        Go.Run(async () =>
        {
            while (true)
            {
                var (v, ok) = await bytesIn.ReceiveOkAsync();
                if (!ok) return;
                await bytesOut.SendAsync(v); // completed: the kernel has the bytes, so the array may go back
                System.Buffers.ArrayPool<byte>.Shared.Return(v.Array!);
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
        _bytesPingOut.Dispose();
        _bytesPingIn.Dispose();
        _bytesPongOut.Dispose();
        _bytesPongIn.Dispose();
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

    [Benchmark(OperationsPerInvoke = Ops)]
    public int PooledBytesRoundTrip()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            _bytesPingOut.Channel.Send(_run);
            var back = _bytesPongIn.Channel.Receive();
            sum += back.Count;
            System.Buffers.ArrayPool<byte>.Shared.Return(back.Array!);
        }
        return sum;
    }
}
