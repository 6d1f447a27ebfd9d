using Weft.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Weft.Ipc.Tests;

/// <summary>Runs alone: it counts the whole process's allocations.</summary>
[Collection(nameof(Alone))]
public class AllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// Nothing per message. After a warm-up (first-use allocations: pooled waiters, the poller's first wake-ups), the
    /// ping-pong runs windows of 10,000 round trips (20,000 messages, each framed, written, polled, read, decoded and
    /// handed to a parked goroutine), and the quietest window may allocate at most 2 KB in the whole process. The
    /// smallest .NET object is 24 bytes, so one allocation per message would be 480,000 bytes in every window, and
    /// even one per 200 messages would be over the limit. The allowance, and the minimum rather than the sum, are for
    /// the rest of the process: the count is process-wide, and the test host and what earlier tests left running
    /// allocate now and then (168-byte objects every few hundred milliseconds in a full run; hundreds of KB in one
    /// window on a loaded machine). BenchmarkDotNet's IpcMicro.PipeRoundTrip shows the same path at 0 B/op.
    /// </summary>
    [Fact]
    public async Task A_ping_pong_of_unmanaged_values_over_two_pipes_allocates_nothing_per_message()
    {
        const int Warmup = 5_000, Window = 10_000, Windows = 5;
        const long Allowance = 2048;
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
            var perWindow = new long[Windows];
            await Gor.Run(async () =>
            {
                long i = 0, before = 0;
                for (int w = -1; w < Windows; w++)
                {
                    int n = w < 0 ? Warmup : Window;
                    for (int k = 0; k < n; k++, i++)
                    {
                        await pingOut.Channel.SendAsync(i);
                        long back = await pongIn.Channel.ReceiveAsync();
                        if (back != i + 1) Assert.Fail($"round trip {i} came back as {back}"); // not Assert.Equal: it allocates per call
                    }
                    long now = GC.GetTotalAllocatedBytes(precise: true);
                    if (w >= 0) perWindow[w] = now - before;
                    before = GC.GetTotalAllocatedBytes(precise: true);
                }
            });
            pingOut.Channel.Close();
            await echo;
            long quietest = perWindow.Min();
            output.WriteLine($"bytes allocated in the process per window of {Window} round trips: {string.Join(", ", perWindow)}");
            Assert.True(quietest <= Allowance, $"every window of {Window} round trips ({2 * Window} messages) allocated more than {Allowance} bytes (the quietest: {quietest}): something allocates per message");
        }
    }
}
