using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/nonblock.go</c>: a select with a default never blocks, and eventually succeeds once a
/// counterpart is there; for unbuffered and buffered channels of several element types.
/// </summary>
public sealed class ChanNonblock
{
    private const int MaxTries = 10_000; // Go: up to 100 ms per check on its 10 µs ticker

    // Go's sleep(): two ticks of a 10 µs ticker, then three yields, to let another goroutine run.
    private static async Task Sleep(Ticker ticker)
    {
        await ticker.C.ReceiveAsync();
        await ticker.C.ReceiveAsync();
        await Go.Yield();
        await Go.Yield();
        await Go.Yield();
    }

    private static async Task Receiver<T>(Chan<T> c, T want, Chan<bool> strobe)
    {
        Assert.Equal(want, await c.ReceiveAsync());
        await strobe.SendAsync(true);
    }

    private static async Task Sender<T>(Chan<T> c, T value, Chan<bool> strobe)
    {
        await c.SendAsync(value);
        await strobe.SendAsync(true);
    }

    // Go repeats this block for int32, int64, bool and string; the checks are the same for each.
    private static async Task Check<T>(ChanProgram p, Ticker ticker, Chan<bool> sync, int buffer, T toReceiver, T fromSender)
    {
        string what = $"{typeof(T).Name} buffer={buffer}";
        var c = new Chan<T>(buffer);

        // Nothing was sent: a receive with a default does not block.
        var empty = new Select();
        empty.Receive(c);
        int none = empty.Default();
        Assert.True(await empty.WaitAsync() == none, $"blocked {what} sender");

        p.Go(() => Receiver(c, toReceiver, sync));
        var send = new Select();
        var sendCase = send.Send(c, toReceiver);
        send.Default();
        for (int attempt = 0; await send.WaitAsync() != sendCase.Index; attempt++)
        {
            Assert.True(attempt < MaxTries, $"{what} receiver never became ready");
            await Sleep(ticker);
        }
        await sync.ReceiveAsync();

        p.Go(() => Sender(c, fromSender, sync));
        if (buffer > 0) await sync.ReceiveAsync();
        var recv = new Select();
        var recvCase = recv.Receive(c);
        recv.Default();
        for (int attempt = 0; await recv.WaitAsync() != recvCase.Index; attempt++)
        {
            Assert.True(attempt < MaxTries, $"{what} sender never became ready");
            await Sleep(ticker);
        }
        Assert.Equal(fromSender, recvCase.Value);
        if (buffer == 0) await sync.ReceiveAsync();
    }

    [Fact]
    public async Task nonblock()
    {
        // Go's time.Tick; a stopped ticker at the end instead of Go's leaked one.
        var ticker = Go.NewTicker(TimeSpan.FromTicks(100)); // 10 µs
        try
        {
            await ChanProgram.Run(async p =>
            {
                var sync = new Chan<bool>();
                for (int buffer = 0; buffer < 2; buffer++)
                {
                    await Check(p, ticker, sync, buffer, 123, 234);
                    await Check(p, ticker, sync, buffer, 123456L, 234567L);
                    await Check(p, ticker, sync, buffer, true, true);
                    await Check(p, ticker, sync, buffer, "hello", "hello again");
                }
            });
        }
        finally
        {
            ticker.Stop();
        }
    }
}
