using Weft.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Weft.Ipc.Tests;

/// <summary>Runs alone: it counts the whole process's allocations.</summary>
[Collection(nameof(Alone))]
public class AllocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_ping_pong_of_unmanaged_values_over_two_pipes_allocates_a_bounded_few_bytes_per_round_trip()
    {
        const int Warmup = 5_000, Measured = 20_000;
        var (pingOut, pingIn) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        var (pongOut, pongIn) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (pingOut)
        using (pingIn)
        using (pongOut)
        using (pongIn)
        {
            var echo = Gor.Run(async () =>
            {
                while (true)
                {
                    var (v, ok) = await pingIn.Channel.ReceiveOkAsync();
                    if (!ok) return;
                    await pongOut.Channel.SendAsync(v + 1);
                }
            });
            long before = 0;
            long bytes = await Gor.Run(async () =>
            {
                for (long i = 0; i < Warmup + Measured; i++)
                {
                    if (i == Warmup) before = GC.GetTotalAllocatedBytes(precise: true);
                    await pingOut.Channel.SendAsync(i);
                    long back = await pongIn.Channel.ReceiveAsync();
                    if (back != i + 1) Assert.Fail($"round trip {i} came back as {back}"); // not Assert.Equal: it allocates per call
                }
                return GC.GetTotalAllocatedBytes(precise: true) - before;
            });
            pingOut.Channel.Close();
            await echo;
            output.WriteLine($"{bytes} bytes allocated in the process over {Measured} round trips ({(double)bytes / Measured:F2} per round trip)");
            // The goal is nothing per message (issue 16). The endpoints' own code (poller, pumps, framing, codec) allocates
            // nothing; what remains comes from readying goroutines from the poller thread and is recorded in
            // docs/performance.md. This bound catches a regression such as a buffer or a closure per message.
            Assert.True(bytes < 64L * Measured, $"{bytes} bytes allocated over {Measured} round trips: something allocates per message");
        }
    }
}
