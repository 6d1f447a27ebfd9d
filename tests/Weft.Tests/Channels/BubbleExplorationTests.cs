using Weft.Testing;
using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// Deterministic channel tests (STYLE 14, first layer): each runs in bubbles, where run order and select choices
/// come from the seed and time is virtual, so a failure names a seed that replays it exactly. Times are asserted
/// exactly because the clock is virtual; nothing here measures real time.
/// </summary>
public sealed class BubbleExplorationTests
{
    private const int Seeds = 200;

    private static TimeSpan Since(Bubble b) => b.Now - Bubble.Epoch;

    private static DateTime At(double seconds) => (Bubble.Epoch + TimeSpan.FromSeconds(seconds)).UtcDateTime;

    [Fact]
    public async Task Select_over_ready_cases_is_fair_under_every_seed()
    {
        var firstPicks = new int[4];
        await Bubble.Explore(async b =>
        {
            var chans = Enumerable.Range(0, 4).Select(_ => new Chan<int>(1)).ToArray();
            foreach (var c in chans) c.TrySend(0);
            var sel = new Select();
            foreach (var c in chans) sel.Receive(c);
            var counts = new int[4];
            for (int i = 0; i < 400; i++)
            {
                int k = await sel.WaitAsync();
                if (i == 0) firstPicks[k]++;
                counts[k]++;
                chans[k].TrySend(0);
            }
            // Binomial(400, 1/4): mean 100, sd 8.7. The bounds are almost 6 sd out; a biased select misses them.
            Assert.All(counts, n => Assert.InRange(n, 50, 150));
        }, seeds: Seeds).Within();
        Assert.All(firstPicks, n => Assert.InRange(n, 20, 80)); // the seed decides the first pick: each case gets its share
    }

    [Fact]
    public async Task Selecting_consumers_receive_every_value_exactly_once_under_every_seed()
    {
        await Bubble.Explore(async b =>
        {
            const int Producers = 3, PerProducer = 12;
            var chans = Enumerable.Range(0, Producers).Select(i => new Chan<int>(i)).ToArray(); // cap 0, 1, 2
            var seen = new int[Producers * PerProducer];
            var wg = new Weft.Sync.WaitGroup();
            for (int p = 0; p < Producers; p++)
            {
                int pp = p;
                wg.Go(async () =>
                {
                    for (int i = 0; i < PerProducer; i++) await chans[pp].SendAsync(pp * PerProducer + i);
                    chans[pp].Close();
                });
            }
            for (int c = 0; c < 2; c++)
            {
                wg.Go(async () =>
                {
                    var sel = new Select();
                    var cases = chans.Select(ch => sel.Receive(ch)).ToArray();
                    while (cases.Any(x => x.Channel is not null))
                    {
                        var rc = cases[await sel.WaitAsync()];
                        if (rc.Ok) seen[rc.Value]++;
                        else rc.Channel = null; // closed and drained: disable the case, Go's nil-channel idiom
                    }
                });
            }
            await wg.WaitAsync();
            Assert.All(seen, n => Assert.Equal(1, n));
        }, seeds: Seeds).Within();
    }

    [Fact]
    public async Task A_buffered_channel_keeps_each_senders_order_under_every_interleaving()
    {
        await Bubble.Explore(async b =>
        {
            const int Producers = 3, PerProducer = 15;
            var ch = new Chan<(int P, int I)>(3);
            var wg = new Weft.Sync.WaitGroup();
            for (int p = 0; p < Producers; p++)
            {
                int pp = p;
                wg.Go(async () => { for (int i = 0; i < PerProducer; i++) await ch.SendAsync((pp, i)); });
            }
            Go.Run(async () => { await wg.WaitAsync(); ch.Close(); });
            var next = new int[Producers];
            int total = 0;
            await foreach (var (p, i) in ch)
            {
                Assert.Equal(next[p], i); // FIFO: across the ring and the queue of blocked senders
                next[p]++;
                total++;
                if (total % 4 == 0) await Go.Yield(); // let senders pile up in the sendq
            }
            Assert.Equal(Producers * PerProducer, total);
        }, seeds: Seeds).Within();
    }

    [Fact]
    public async Task Close_racing_blocked_senders_and_receivers_loses_and_invents_nothing_under_every_seed()
    {
        // A send that returned delivered its value exactly once; a send that threw (closed) or was cancelled
        // delivered nothing; a cancelled receive consumed nothing; every receiver ends with ok = false.
        await Bubble.Explore(async b =>
        {
            int cap = b.Seed % 3; // unbuffered, 1, 2
            var ch = new Chan<int>(cap);
            var delivered = new HashSet<int>();
            var received = new List<int>();
            var wg = new Weft.Sync.WaitGroup();
            var cancels = new List<CancellationTokenSource>();
            for (int s = 0; s < 3; s++)
            {
                int ss = s;
                wg.Go(async () =>
                {
                    for (int i = 0; ; i++)
                    {
                        int v = ss * 1000 + i;
                        var cts = new CancellationTokenSource();
                        if (i % 3 == 2) cancels.Add(cts);
                        try { await ch.SendAsync(v, cts.Token); delivered.Add(v); }
                        catch (OperationCanceledException) { }
                        catch (ChannelClosedException) { return; }
                    }
                });
            }
            for (int r = 0; r < 3; r++)
            {
                wg.Go(async () =>
                {
                    for (int i = 0; ; i++)
                    {
                        var cts = new CancellationTokenSource();
                        if (i % 4 == 3) cancels.Add(cts);
                        try
                        {
                            var (v, ok) = await ch.ReceiveOkAsync(cts.Token);
                            if (!ok) return;
                            received.Add(v);
                        }
                        catch (OperationCanceledException) { }
                    }
                });
            }
            wg.Go(async () =>
            {
                for (int k = 0; k < 6; k++)
                {
                    await Go.Yield();
                    foreach (var c in cancels.ToArray()) c.Cancel();
                }
            });
            for (int k = 0; k < 8; k++) await Go.Yield();
            ch.Close();
            await wg.WaitAsync();
            Assert.Equal(received.Count, received.Distinct().Count());
            Assert.Equal(delivered.OrderBy(v => v), received.OrderBy(v => v));
        }, seeds: Seeds).Within();
    }

    [Fact]
    public async Task Timer_stop_and_reset_never_deliver_a_stale_value_at_exact_virtual_times()
    {
        await Bubble.Explore(async b =>
        {
            var t = Go.NewTimer(TimeSpan.FromSeconds(10));
            await Go.Sleep(TimeSpan.FromSeconds(11));        // fired at 10 s; the value waits unreceived
            Assert.True(t.Stop());                            // Go 1.23: the value was never delivered, so Stop stopped it
            Assert.False(t.C.TryReceive(out _));              // and it is gone
            Assert.False(t.Stop());

            Assert.False(t.Reset(TimeSpan.FromSeconds(5)));   // at 11 s: fires at 16 s
            Assert.Equal(At(16), await t.C.ReceiveAsync());
            Assert.Equal(TimeSpan.FromSeconds(16), Since(b));

            t.Reset(TimeSpan.Zero);                           // fires at once (16 s), unreceived...
            await Go.Sleep(TimeSpan.FromSeconds(1));
            Assert.True(t.Reset(TimeSpan.FromSeconds(3)));    // ...so Reset at 17 s discards it
            Assert.Equal(At(20), await t.C.ReceiveAsync());

            // A parked receiver sees only the re-armed value.
            var got = new Chan<DateTime>(1);
            Go.Run(async () => await got.SendAsync(await t.C.ReceiveAsync()));
            t.Reset(TimeSpan.FromSeconds(100));
            await Go.Sleep(TimeSpan.FromSeconds(2));
            t.Reset(TimeSpan.FromSeconds(4));                 // at 22 s
            Assert.Equal(At(26), await got.ReceiveAsync());
        }, seeds: 20).Within();
    }

    [Fact]
    public async Task A_ticker_drops_ticks_for_a_slow_receiver_at_exact_virtual_times()
    {
        await Bubble.Explore(async b =>
        {
            var tick = Go.NewTicker(TimeSpan.FromSeconds(1));
            await Go.Sleep(TimeSpan.FromSeconds(5.5));              // ticks at 1..5 s; only the first is kept
            Assert.True(tick.C.TryReceive(out var first));
            Assert.Equal(At(1), first);
            Assert.False(tick.C.TryReceive(out _));                 // 2..5 s were dropped, not queued
            Assert.Equal(At(6), await tick.C.ReceiveAsync());       // the next tick keeps the period's phase
            Assert.Equal(At(7), await tick.C.ReceiveAsync());
            tick.Reset(TimeSpan.FromSeconds(10));                   // at 7 s
            Assert.Equal(At(17), await tick.C.ReceiveAsync());
            tick.Stop();
            await Go.Sleep(TimeSpan.FromSeconds(30));
            Assert.False(tick.C.TryReceive(out _));                 // nothing after Stop
            Assert.Equal(TimeSpan.FromSeconds(47), Since(b));
        }, seeds: 20).Within();
    }

    [Fact]
    public async Task A_select_timeout_fires_at_its_exact_virtual_time_and_a_ready_case_beats_it()
    {
        await Bubble.Explore(async b =>
        {
            var ch = new Chan<int>();
            var sel = new Select();
            var r = sel.Receive(ch);
            var late = sel.Timeout(TimeSpan.FromSeconds(3));
            Assert.Equal(late.Index, await sel.WaitAsync());
            Assert.Equal(At(3), late.Value);
            Go.Run(async () => { await Go.Sleep(TimeSpan.FromSeconds(2)); await ch.SendAsync(9); });
            Assert.Equal(r.Index, await sel.WaitAsync());           // at 5 s, before the timeout at 6 s
            Assert.Equal(9, r.Value);
            Assert.Equal(TimeSpan.FromSeconds(5), Since(b));
            await Go.Sleep(TimeSpan.FromSeconds(10));
            Assert.False(late.Channel!.TryReceive(out _));          // the unused timeout left no value behind
        }, seeds: 20).Within();
    }
}
