using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>Port of Go's <c>test/chan/fifo.go</c>: channels deliver in the order values were sent.</summary>
public sealed class ChanFifo
{
    private const int N = 10;

    private static void AsynchFifo()
    {
        var ch = new Chan<int>(N);
        for (int i = 0; i < N; i++) ch.Send(i);
        for (int i = 0; i < N; i++) Assert.Equal(i, ch.Receive());
    }

    private static async Task Chain(ReceiveOnlyChan<int> ch, int val, ReceiveOnlyChan<int> input, SendOnlyChan<int> output)
    {
        await input.ReceiveAsync();
        Assert.Equal(val, await ch.ReceiveAsync());
        await output.SendAsync(1);
    }

    // A daisy chain of goroutines, each released by the one before it, reads the values in sequence.
    private static async Task SynchFifo(ChanProgram p)
    {
        var ch = new Chan<int>();
        var input = new Chan<int>();
        var start = input;
        for (int i = 0; i < N; i++)
        {
            var output = new Chan<int>();
            int val = i;
            var from = input;
            p.Go(() => Chain(ch, val, from, output));
            input = output;
        }
        await start.SendAsync(0);
        for (int i = 0; i < N; i++) await ch.SendAsync(i);
        await input.ReceiveAsync();
    }

    [Fact]
    public async Task fifo()
    {
        await ChanProgram.Run(p =>
        {
            AsynchFifo();
            return SynchFifo(p);
        });
    }
}
