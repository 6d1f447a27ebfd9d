using Weft.Ipc.Framing;
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
    public Task A_ping_pong_of_unmanaged_values_over_two_pipes_allocates_nothing_per_message() =>
        AssertPingPongIsQuiet(IpcCodec.Unmanaged<long>(), FrameFormat.DefaultMaxFrameSize, make: i => i, answer: v => v + 1, isAnswer: (i, back) => back == i + 1, done: _ => { });

    /// <summary>
    /// The pooled byte codec, the same way: 64-byte runs ping-pong over two pipes, each received segment's array going
    /// back to the pool once its bytes were used (the echo sends the segment it received, then returns its array; the
    /// sender reuses one array of its own). The receive side rents; in steady state the pool has the arrays, so the
    /// quietest window may allocate at most the same 2 KB, where one array per message would be over 1.7 MB.
    /// </summary>
    [Fact]
    public Task A_ping_pong_of_pooled_byte_runs_over_two_pipes_allocates_nothing_per_message()
    {
        var pool = System.Buffers.ArrayPool<byte>.Shared;
        var mine = new ArraySegment<byte>(new byte[64]);
        return AssertPingPongIsQuiet(
            IpcCodec.PooledBytes(64),
            maxFrameSize: 64,
            make: i =>
            {
                mine.Array![0] = (byte)i;
                return mine;
            },
            answer: v =>
            {
                v.Array![v.Offset] ^= 0xFF;
                return v;
            },
            isAnswer: (i, back) => back.Count == 64 && back.Array![back.Offset] == (byte)~(byte)i,
            done: v => pool.Return(v.Array!)); // after the send completed: the kernel has the bytes, so the array may go back
    }

    /// <summary>
    /// Two goroutines ping-pong over two pipes: one sends make(i) and checks the answer, the other sends answer(v)
    /// back; each calls done on what it received once it is finished with it. 5,000 round trips of warm-up, then 5
    /// windows of 10,000, counting the process's allocations in each; the quietest window may allocate at most 2 KB.
    /// </summary>
    private async Task AssertPingPongIsQuiet<T>(IpcCodec<T> codec, int maxFrameSize, Func<long, T> make, Func<T, T> answer, Func<long, T, bool> isAnswer, Action<T> done)
    {
        const int Warmup = 5_000, Window = 10_000, Windows = 5;
        const long Allowance = 2048;
        var (pingOut, pingIn) = IpcPipe.Create(codec, maxFrameSize);
        var (pongOut, pongIn) = IpcPipe.Create(codec, maxFrameSize);
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
                    await pongOut.Channel.SendAsync(answer(v!));
                    done(v!);
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
                        await pingOut.Channel.SendAsync(make(i));
                        var back = await pongIn.Channel.ReceiveAsync();
                        if (!isAnswer(i, back!)) Assert.Fail($"round trip {i} came back wrong"); // not Assert.True with a message: it allocates per call
                        done(back!);
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
