using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/select4.go</c>: a select proceeds when a value is ready, and the destination of a case
/// that was not chosen is never evaluated.
/// </summary>
public sealed class ChanSelect4
{
    [Fact]
    public async Task select4()
    {
        await ChanProgram.Run(async _ =>
        {
            int fCalls = 0;
            int x = 0;
            var c = new Chan<int>(1);
            var c1 = new Chan<int>();
            await c.SendAsync(42);
            var sel = new Select();
            var fromC1 = sel.Receive(c1);
            var fromC = sel.Receive(c);
            int chosen = await sel.WaitAsync();
            if (chosen == fromC1.Index)
            {
                fCalls++; // Go: *f() = <-c1, where calling f is the bug
                x = fromC1.Value;
            }
            else
            {
                x = fromC.Value;
            }
            Assert.Equal(0, fCalls);
            Assert.Equal(fromC.Index, chosen);
            Assert.Equal(42, x);
        });
    }
}
