using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>Receiving a numbered stream to its end, and checking it arrived whole: nothing lost, duplicated or reordered.</summary>
internal static class Sequences
{
    public static async Task<List<long>> Drain(ReceiveOnlyChan<long> ch)
    {
        var got = new List<long>();
        while (true)
        {
            var (v, ok) = await ch.ReceiveOkAsync();
            if (!ok) return got;
            got.Add(v);
        }
    }

    /// <summary>Sends 0 to <paramref name="n"/> - 1, then closes the channel.</summary>
    public static async Task SendAll(SendOnlyChan<long> ch, int n)
    {
        for (long i = 0; i < n; i++) await ch.SendAsync(i);
        ch.Close();
    }

    public static void AssertSequence(List<long> got, int n)
    {
        Assert.Equal(n, got.Count);
        for (int i = 0; i < n; i++) Assert.True(got[i] == i, $"value {i} was {got[i]}: lost, duplicated or reordered");
    }

    /// <summary>
    /// Sends 0 to <paramref name="n"/> - 1 on <paramref name="tx"/> in batches of <paramref name="batch"/>, waiting
    /// for an ack after each; at each batch boundary (the endpoint empty, the sender waiting) the reader starts an
    /// operation with <paramref name="start"/>, which must park, and cancels it either before the ack (a certain
    /// cancellation of a parked wait) or right after it (racing the next value's arrival). Every value must still
    /// arrive once, in order.
    /// </summary>
    public static async Task CancelAtBoundaries(SendOnlyChan<long> tx, ReceiveOnlyChan<long> rx,
        Func<CancellationToken, (ValueTask<(long Value, bool Ok)> Op, bool Parked)> start, int n = 2_000, int batch = 40)
    {
        var ack = new Chan<int>();
        var reading = Gor.Run(async () =>
        {
            var got = new List<long>();
            int boundary = 0;
            while (got.Count < n)
            {
                if (got.Count % batch == 0 && got.Count / batch == boundary)
                {
                    bool certain = boundary++ % 2 == 0;
                    using var cts = new CancellationTokenSource();
                    var (op, parked) = start(cts.Token);
                    Assert.True(parked, "with the endpoint empty, the operation had to wait");
                    if (certain) cts.Cancel();
                    await ack.SendAsync(0);
                    if (!certain) cts.Cancel();
                    try
                    {
                        var (v, ok) = await op;
                        Assert.False(certain, "a wait cancelled before any value was sent completed");
                        Assert.True(ok);
                        got.Add(v);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    continue;
                }
                got.Add(await rx.ReceiveAsync());
            }
            return got;
        });
        await Gor.Run(async () =>
        {
            for (long i = 0; i < n; i++)
            {
                if (i % batch == 0) await ack.ReceiveAsync();
                await tx.SendAsync(i);
            }
        });
        AssertSequence(await reading, n);
    }
}
