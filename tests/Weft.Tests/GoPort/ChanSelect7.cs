using Weft.Sync;
using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/select7.go</c>: a value received and discarded, by a plain receive or a one- or two-case
/// select, meeting a plain send or a one- or two-case select send: all nine pairs.
/// </summary>
public sealed class ChanSelect7
{
    private static async Task Recv1(ReceiveOnlyChan<int> c) => await c.ReceiveAsync();

    private static async Task Recv2(ReceiveOnlyChan<int> c)
    {
        var sel = new Select();
        sel.Receive(c);
        await sel.WaitAsync();
    }

    private static async Task Recv3(ReceiveOnlyChan<int> c)
    {
        var c2 = new Chan<int>();
        var sel = new Select();
        sel.Receive(c);
        sel.Receive(c2);
        await sel.WaitAsync();
    }

    // Go's sendN prologue: a new channel, a receiver on it, and a yield so that it likely parks before the send.
    private static async Task<Chan<int>> StartReceiver(ChanProgram p, WaitGroup wg, Func<ReceiveOnlyChan<int>, Task> recv)
    {
        var c = new Chan<int>();
        wg.Add(1);
        p.Go(async () =>
        {
            await recv(c);
            wg.Done();
        });
        await Go.Yield();
        return c;
    }

    private static async Task Send1(ChanProgram p, WaitGroup wg, Func<ReceiveOnlyChan<int>, Task> recv)
    {
        var c = await StartReceiver(p, wg, recv);
        await c.SendAsync(1);
    }

    private static async Task Send2(ChanProgram p, WaitGroup wg, Func<ReceiveOnlyChan<int>, Task> recv)
    {
        var c = await StartReceiver(p, wg, recv);
        var sel = new Select();
        sel.Send(c, 1);
        await sel.WaitAsync();
    }

    private static async Task Send3(ChanProgram p, WaitGroup wg, Func<ReceiveOnlyChan<int>, Task> recv)
    {
        var c = await StartReceiver(p, wg, recv);
        var c2 = new Chan<int>();
        var sel = new Select();
        var toC = sel.Send(c, 1);
        sel.Send(c2, 1);
        Assert.Equal(toC.Index, await sel.WaitAsync()); // nobody receives on c2
    }

    [Fact]
    public async Task select7()
    {
        await ChanProgram.Run(async p =>
        {
            // Beyond Go's checks (no hang, no crash): every receiver finished, so each send met one receive.
            var wg = new WaitGroup();
            foreach (var recv in new Func<ReceiveOnlyChan<int>, Task>[] { Recv1, Recv2, Recv3 })
            {
                await Send1(p, wg, recv);
                await Send2(p, wg, recv);
                await Send3(p, wg, recv);
            }
            await wg.WaitAsync();
        });
    }
}
