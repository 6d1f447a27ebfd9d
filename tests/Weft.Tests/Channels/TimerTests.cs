using Xunit;

namespace Weft.Tests.Channels;

public sealed class TimerTests
{
    [Fact]
    public async Task After_delivers_one_value()
    {
        var c = Go.After(TimeSpan.FromMilliseconds(5));
        var (t, ok) = await c.ReceiveOkAsync().Within();
        Assert.True(ok);
        Assert.Equal(DateTimeKind.Utc, t.Kind);
        Assert.Equal(0, c.Len);
        Assert.Equal(0, c.Capacity);
    }

    [Fact]
    public void A_timer_channel_is_receive_only()
    {
        var t = Go.NewTimer(TimeSpan.FromHours(1));
        Assert.Throws<InvalidOperationException>(() => t.C.TrySend(DateTime.UtcNow));
        Assert.Throws<InvalidOperationException>(t.C.Close);
        Assert.Throws<InvalidOperationException>(() => new Select().Send(t.C, DateTime.UtcNow));
        t.Stop();
    }

    [Fact]
    public async Task Stop_before_firing_means_no_value_is_ever_received()
    {
        var t = Go.NewTimer(TimeSpan.FromMilliseconds(20));
        Assert.True(t.Stop());
        Assert.False(t.Stop());
        await Go.Sleep(TimeSpan.FromMilliseconds(60));
        Assert.False(t.C.TryReceive(out _));
    }

    [Fact]
    public async Task Stop_after_firing_but_before_receiving_discards_the_stale_value()
    {
        // Go 1.23: no stale value after Stop returns, even though the timer already fired.
        for (int i = 0; i < 20; i++)
        {
            var t = Go.NewTimer(TimeSpan.Zero);
            await Go.Sleep(TimeSpan.FromMilliseconds(2));
            t.Stop();
            Assert.False(t.C.TryReceive(out _));
        }
    }

    [Fact]
    public async Task Reset_never_lets_a_value_from_the_earlier_arming_through()
    {
        for (int i = 0; i < 20; i++)
        {
            var t = Go.NewTimer(TimeSpan.Zero);
            await Go.Sleep(TimeSpan.FromMilliseconds(2)); // fired, value unreceived
            var before = DateTime.UtcNow;
            t.Reset(TimeSpan.FromMilliseconds(5));
            var fired = await t.C.ReceiveAsync().Within();
            Assert.True(fired >= before, "The value received after Reset was produced by the earlier arming.");
        }
    }

    [Fact]
    public async Task A_ticker_drops_ticks_for_a_slow_receiver()
    {
        var tick = Go.NewTicker(TimeSpan.FromMilliseconds(2));
        await Go.Sleep(TimeSpan.FromMilliseconds(60)); // ~30 periods without receiving
        Assert.True(tick.C.TryReceive(out _));
        Assert.False(tick.C.TryReceive(out _)); // one tick was kept, the rest were dropped
        await tick.C.ReceiveAsync().Within();   // and it keeps ticking
        tick.Stop();
        Assert.False(tick.C.TryReceive(out _));
    }
}
