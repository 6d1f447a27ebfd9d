using System.Diagnostics;
using Weft.Ipc;

namespace Weft.Bench;

/// <summary>
/// ipc-pipe-inproc: two goroutines in this process hand a long back and forth over two IPC pipes (IpcPipe, the
/// unmanaged codec), so every round trip crosses the kernel twice and wakes a parked goroutine through the netpoller
/// twice. The cross-process rows (ipc-pipe and the others) need the child-process endpoints; this one isolates the
/// runtime's part: the poller, the transport seam, framing and the goroutine wake-ups.
/// </summary>
public sealed class IpcPipeInProcess : Workload
{
    private const int N = 20_000;
    public override string Name => "ipc-pipe-inproc";
    public override string Unit => "ns/roundtrip";

    public override double RunWeft()
    {
        var (pingOut, pingIn) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        var (pongOut, pongIn) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (pingOut)
        using (pingIn)
        using (pongOut)
        using (pongIn)
        {
            var done = new CountdownEvent(2);
            var sw = Stopwatch.StartNew();
            Go.Run(async () =>
            {
                for (long i = 0; i < N; i++)
                {
                    long v = await pingIn.Channel.ReceiveAsync();
                    await pongOut.Channel.SendAsync(v + 1);
                }
                done.Signal();
            });
            Go.Run(async () =>
            {
                for (long i = 0; i < N; i++)
                {
                    await pingOut.Channel.SendAsync(i);
                    if (await pongIn.Channel.ReceiveAsync() != i + 1) throw new InvalidOperationException($"round trip {i} came back wrong");
                }
                done.Signal();
            });
            done.Wait();
            return sw.Elapsed.TotalNanoseconds / N;
        }
    }
}
