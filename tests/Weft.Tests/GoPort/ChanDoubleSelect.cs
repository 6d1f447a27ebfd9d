using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>Port of Go's <c>test/chan/doubleselect.go</c>: two cases of one select must never both run.</summary>
public sealed class ChanDoubleSelect
{
    private const int Iterations = 100_000; // Go's default for -n

    // Sends each counter value on whichever of the four channels is ready first. If two cases of one select could
    // both proceed, a value would go out on two channels and the receiver would see it twice.
    private static async Task Sender(int n, SendOnlyChan<int> c1, SendOnlyChan<int> c2, SendOnlyChan<int> c3, SendOnlyChan<int> c4)
    {
        try
        {
            var sel = new Select();
            var cases = new[] { sel.Send(c1, 0), sel.Send(c2, 0), sel.Send(c3, 0), sel.Send(c4, 0) };
            for (int i = 0; i < n; i++)
            {
                foreach (var c in cases) c.Value = i;
                await sel.WaitAsync();
            }
        }
        finally
        {
            c4.Close();
            c3.Close();
            c2.Close();
            c1.Close();
        }
    }

    // Forwards one of the sender's channels onto the shared one (one channel for all four cases does not trigger the
    // bug Go's test was written for).
    private static async Task Mux(SendOnlyChan<int> output, ReceiveOnlyChan<int> input, SendOnlyChan<bool> done)
    {
        await foreach (int v in input) await output.SendAsync(v);
        await done.SendAsync(true);
    }

    private static async Task<HashSet<int>> Receiver(ReceiveOnlyChan<int> input)
    {
        var seen = new HashSet<int>();
        await foreach (int v in input) Assert.True(seen.Add(v), $"got duplicate value: {v}");
        return seen;
    }

    [Fact]
    public async Task doubleselect()
    {
        int saved = Go.MaxProcs;
        Go.MaxProcs = 2; // as Go's runtime.GOMAXPROCS(2)
        try
        {
            await ChanProgram.Run(async p =>
            {
                Chan<int> c1 = new(), c2 = new(), c3 = new(), c4 = new();
                var done = new Chan<bool>();
                var cmux = new Chan<int>();
                p.Go(() => Sender(Iterations, c1, c2, c3, c4));
                p.Go(() => Mux(cmux, c1, done));
                p.Go(() => Mux(cmux, c2, done));
                p.Go(() => Mux(cmux, c3, done));
                p.Go(() => Mux(cmux, c4, done));
                p.Go(async () =>
                {
                    for (int i = 0; i < 4; i++) await done.ReceiveAsync();
                    cmux.Close();
                });
                var seen = await Receiver(cmux);
                // Beyond Go's check (no duplicate): nothing was lost either.
                Assert.Equal(Iterations, seen.Count);
            });
        }
        finally
        {
            Go.MaxProcs = saved;
        }
    }
}
