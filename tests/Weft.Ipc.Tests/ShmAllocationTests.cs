using Weft.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Weft.Ipc.Tests;

/// <summary>Runs alone: it counts the whole process's allocations (as AllocationTests does for pipes).</summary>
[Collection(nameof(Alone))]
public class ShmAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Unmanaged_values_through_the_shared_memory_channel_allocate_nothing_per_message_uncontended_and_a_bounded_few_bytes_per_parked_round_trip()
    {
        string name = "weft-test-" + Guid.NewGuid().ToString("N");
        try
        {
            using var a = IpcSharedMemory.Create<long>(name, capacity: 1024);
            using var b = IpcSharedMemory.Open<long>(name);

            // Uncontended: nobody parks, so a send is claim, copy, commit and a receive is take, copy, free.
            for (long i = 0; i < 1_000; i++) Assert.True(a.Sender.TrySend(i) && b.Receiver.TryReceive(out _));
            // The loop runs wholly on this thread, so this thread's count is the one to read: the process's total also
            // takes in whatever the runtime's background threads (tiering, the thread pool) allocate meanwhile.
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (long i = 0; i < 100_000; i++)
            {
                if (!a.Sender.TrySend(i) || !b.Receiver.TryReceive(out long v) || v != i) Assert.Fail($"value {i} did not come through");
            }
            long uncontended = GC.GetAllocatedBytesForCurrentThread() - before;
            output.WriteLine($"uncontended: {uncontended} bytes over 100,000 messages");
            // Measured alone: 0 bytes. Under a byte per message: the smallest object per message would be 24.
            Assert.True(uncontended < 100_000, $"{uncontended} bytes allocated over 100,000 uncontended messages: something allocates per message");

            // Parked: a goroutine ping-pong, where each receive parks behind the doorbell and the netpoller readies it.
            using var c = IpcSharedMemory.Create<long>(name + "-back", capacity: 4);
            using var d = IpcSharedMemory.Open<long>(name + "-back");
            const int Warmup = 2_000, Measured = 10_000;
            var echo = Gor.Run(async () =>
            {
                while (true)
                {
                    var (v, ok) = await b.Receiver.ReceiveOkAsync();
                    if (!ok) return;
                    await c.Sender.SendAsync(v + 1);
                }
            });
            long start = 0;
            long bytes = await Gor.Run(async () =>
            {
                for (long i = 0; i < Warmup + Measured; i++)
                {
                    if (i == Warmup) start = GC.GetTotalAllocatedBytes(precise: true);
                    await a.Sender.SendAsync(i);
                    long back = await d.Receiver.ReceiveAsync();
                    if (back != i + 1) Assert.Fail($"round trip {i} came back as {back}");
                }
                return GC.GetTotalAllocatedBytes(precise: true) - start;
            });
            a.Sender.Close();
            await echo;
            output.WriteLine($"parked: {bytes} bytes over {Measured} round trips ({(double)bytes / Measured:F2} per round trip)");
            // Measured here: 0.2 bytes per round trip (readying goroutines from the poller thread); the bound catches a buffer or closure per message.
            Assert.True(bytes < 16L * Measured, $"{bytes} bytes allocated over {Measured} round trips: something allocates per message");
        }
        finally
        {
            IpcSharedMemory.TryRemoveStale(name);
            IpcSharedMemory.TryRemoveStale(name + "-back");
        }
    }
}
