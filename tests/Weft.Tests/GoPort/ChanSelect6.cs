using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/select6.go</c> (Go issue 2075): a select that loses on a channel with several waiters,
/// while last in its queue, must leave that queue intact, or the later waiters on it never wake.
/// </summary>
public sealed class ChanSelect6
{
    [Fact]
    public async Task select6()
    {
        await ChanProgram.Run(async p =>
        {
            var c1 = new Chan<bool>();
            var c2 = new Chan<bool>();
            var c3 = new Chan<bool>();
            p.Go(async () => await c1.ReceiveAsync());
            p.Go(async () =>
            {
                var sel = new Select();
                var fromC1 = sel.Receive(c1);
                sel.Receive(c2);
                Assert.NotEqual(fromC1.Index, await sel.WaitAsync()); // Go: panic("dummy")
                await c3.SendAsync(true);
                await c1.ReceiveAsync();
            });
            p.Go(async () => await c2.SendAsync(true));
            await c3.ReceiveAsync();
            await c1.SendAsync(true);
            await c1.SendAsync(true);
        });
    }
}
