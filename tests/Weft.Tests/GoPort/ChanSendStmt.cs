using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/sendstmt.go</c>. Its point is parsing (<c>&lt;-cc &lt;- 2</c>, <c>c &lt;- false || true</c>);
/// what carries over is what those statements do: a select sends on a channel received from a channel of channels,
/// and a send delivers the value of the whole expression.
/// </summary>
public sealed class ChanSendStmt
{
    private static async Task ChanChan()
    {
        var cc = new Chan<Chan<int>>(1);
        var c = new Chan<int>(1);
        await cc.SendAsync(c);
        var sel = new Select();
        var send = sel.Send(await cc.ReceiveAsync(), 2); // Go: case <-cc <- 2, the receive runs on entry to the select
        sel.Default();
        Assert.True(await sel.WaitAsync() == send.Index, "nonblock");
        Assert.Equal(2, await c.ReceiveAsync());
    }

    private static async Task SendPrec()
    {
        var c = new Chan<bool>(1);
        bool f = false;
        await c.SendAsync(f || true);
        Assert.True(await c.ReceiveAsync(), "sent false");
    }

    [Fact]
    public async Task sendstmt()
    {
        await ChanProgram.Run(async _ =>
        {
            await ChanChan();
            await SendPrec();
        });
    }
}
