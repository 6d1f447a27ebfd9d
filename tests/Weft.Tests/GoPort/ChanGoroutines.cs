using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>Port of Go's <c>test/chan/goroutines.go</c>: many goroutines threaded together, torn down cleanly.</summary>
public sealed class ChanGoroutines
{
    private const int N = 10_000;

    [Fact]
    public async Task goroutines()
    {
        await ChanProgram.Run(async p =>
        {
            var leftmost = new Chan<int>();
            var right = leftmost;
            var left = leftmost;
            for (int i = 0; i < N; i++)
            {
                right = new Chan<int>();
                Chan<int> l = left, r = right;
                p.Go(async () => await l.SendAsync(await r.ReceiveAsync()));
                left = right;
            }
            var last = right;
            p.Go(async () => await last.SendAsync(1));
            Assert.Equal(1, await leftmost.ReceiveAsync());
        });
    }
}
