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
}
