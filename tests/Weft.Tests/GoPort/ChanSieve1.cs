using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/sieve1.go</c> (formerly <c>sieve.go</c>): the classic concurrent prime sieve, a linear
/// chain of filter goroutines, checked against the primes below 100.
/// </summary>
public sealed class ChanSieve1
{
    internal static readonly int[] PrimesBelow100 =
        [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97];

    // The generator and the filters run for ever, as in Go: Stop ends them when the test is over.
    private static async Task Generate(SendOnlyChan<int> ch, CancellationToken stop)
    {
        for (int i = 2; ; i++) await ch.SendAsync(i, stop);
    }

    private static async Task Filter(ReceiveOnlyChan<int> input, SendOnlyChan<int> output, int prime, CancellationToken stop)
    {
        await foreach (int i in input.WithCancellation(stop))
        {
            if (i % prime != 0) await output.SendAsync(i, stop);
        }
    }

    private static async Task Sieve(ChanProgram p, SendOnlyChan<int> primes)
    {
        var ch = new Chan<int>();
        p.Go(() => Generate(ch, p.Stop));
        while (true)
        {
            int prime = await ch.ReceiveAsync(p.Stop); // ch is a new channel on each iteration
            await primes.SendAsync(prime, p.Stop);
            var ch1 = new Chan<int>();
            var from = ch;
            p.Go(() => Filter(from, ch1, prime, p.Stop));
            ch = ch1;
        }
    }

    [Fact]
    public async Task sieve1()
    {
        await ChanProgram.Run(async p =>
        {
            var primes = new Chan<int>();
            p.Go(() => Sieve(p, primes));
            foreach (int want in PrimesBelow100) Assert.Equal(want, await primes.ReceiveAsync());
        });
    }
}
