using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/select2.go</c>: 100,000 selects must not grow the live heap. Go allows 110,000 bytes.
/// The growth seen here alone is a few kilobytes either way; the bound is 1 MB (10 bytes a select) so that what
/// earlier tests left running in this process (timers, goroutines winding down) cannot fail a correct run.
/// </summary>
public sealed class ChanSelect2
{
    private const int N = 100_000;
    private const long Bound = 1_000_000;

    private static async Task Sender(Chan<int> c, int n)
    {
        for (int i = 0; i < n; i++) await c.SendAsync(1);
    }

    // One Select, built once and waited on N times: Weft's form of a select statement in a loop.
    private static async Task Receiver(Chan<int> c, Chan<int> dummy, int n)
    {
        var sel = new Select();
        sel.Receive(c);
        var never = sel.Receive(dummy);
        for (int i = 0; i < n; i++) Assert.NotEqual(never.Index, await sel.WaitAsync());
    }

    [Fact]
    public async Task select2()
    {
        await ChanProgram.Run(async p =>
        {
            var c = new Chan<int>();
            var dummy = new Chan<int>();

            // Warm up.
            p.Go(() => Sender(c, N));
            await Receiver(c, dummy, N);
            long before = GC.GetTotalMemory(forceFullCollection: true);

            // The second time should not increase the footprint by much.
            p.Go(() => Sender(c, N));
            await Receiver(c, dummy, N);
            long after = GC.GetTotalMemory(forceFullCollection: true);

            Assert.True(after - before <= Bound, $"too much memory for {N:N0} selects: {after - before:N0} bytes");
        });
    }
}
