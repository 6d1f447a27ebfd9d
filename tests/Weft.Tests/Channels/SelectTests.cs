using Xunit;

namespace Weft.Tests.Channels;

public sealed class SelectTests
{
    [Fact]
    public async Task A_null_channel_case_is_never_ready()
    {
        var sel = new Select();
        var never = sel.Receive<int>(null);
        var neverSend = sel.Send<int>(null, 1);
        int dflt = sel.Default();
        for (int i = 0; i < 100; i++) Assert.Equal(dflt, await sel.WaitAsync().Within());

        var ready = new Chan<int>(1);
        var sel2 = new Select();
        sel2.Receive<int>(null);
        var r = sel2.Receive(ready);
        ready.TrySend(5);
        Assert.Equal(r.Index, await sel2.WaitAsync().Within());
        Assert.Equal(5, r.Value);
        _ = never;
        _ = neverSend;
    }

    [Fact]
    public async Task Setting_a_case_channel_to_null_disables_it()
    {
        var a = new Chan<int>(1);
        var b = new Chan<int>(1);
        var sel = new Select();
        var ca = sel.Receive(a);
        var cb = sel.Receive(b);
        a.TrySend(1);
        b.TrySend(2);
        ca.Channel = null;
        Assert.Equal(cb.Index, await sel.WaitAsync().Within());
        Assert.Equal(2, cb.Value);
    }

    [Fact]
    public async Task Default_is_chosen_only_when_no_case_is_ready()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        var r = sel.Receive(ch);
        int dflt = sel.Default();
        Assert.Equal(dflt, await sel.WaitAsync().Within());
        var sender = ch.SendAsync(9).AsTask(); // parks: now the receive case is ready
        Assert.Equal(r.Index, await sel.WaitAsync().Within());
        Assert.Equal((9, true), (r.Value, r.Ok));
        await sender.Within();
    }

    [Fact]
    public async Task A_timeout_case_wins_when_nothing_else_is_ready()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        sel.Receive(ch);
        var timeout = sel.Timeout(TimeSpan.FromMilliseconds(20));
        for (int i = 0; i < 3; i++) Assert.Equal(timeout.Index, await sel.WaitAsync().Within());
        // After a timeout, the channel case still works and no stale timeout leaks into the next wait.
        var s = ch.SendAsync(1).AsTask();
        Assert.NotEqual(timeout.Index, await sel.WaitAsync().Within());
        await s.Within();
    }

    [Fact]
    public async Task Go_After_works_as_a_receive_case()
    {
        var sel = new Select();
        sel.Receive(new Chan<int>());
        var after = sel.Receive(Go.After(TimeSpan.FromMilliseconds(10)));
        Assert.Equal(after.Index, await sel.WaitAsync().Within());
        Assert.True(after.Ok);
    }

    [Fact]
    public async Task A_blocked_select_completes_a_send_case()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        var send = sel.Send(ch, 41);
        var w = sel.WaitAsync().AsTask();
        Assert.False(w.IsCompleted);
        Assert.Equal(41, await ch.ReceiveAsync().Within());
        Assert.Equal(send.Index, await w.Within());
    }

    [Fact]
    public async Task A_blocked_select_receives_ok_false_when_its_channel_closes()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        var r = sel.Receive(ch);
        var w = sel.WaitAsync().AsTask();
        ch.Close();
        Assert.Equal(r.Index, await w.Within());
        Assert.False(r.Ok);
    }

    [Fact]
    public async Task A_send_case_on_a_closed_channel_throws()
    {
        var ch = new Chan<int>();
        ch.Close();
        var sel = new Select();
        sel.Send(ch, 1);
        await Assert.ThrowsAsync<ChannelClosedException>(() => sel.WaitAsync().AsTask());

        var ch2 = new Chan<int>();
        var sel2 = new Select();
        sel2.Send(ch2, 1);
        var w = sel2.WaitAsync().AsTask();
        ch2.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => w.Within());
    }

    [Fact]
    public async Task A_cancelled_select_performs_no_case_and_can_wait_again()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        var r = sel.Receive(ch);
        using var cts = new CancellationTokenSource();
        var w = sel.WaitAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.Within());
        Assert.False(ch.TrySend(1)); // the select's node left the queue: nobody receives
        var s = ch.SendAsync(2).AsTask();
        Assert.Equal(r.Index, await sel.WaitAsync().Within());
        Assert.Equal(2, r.Value);
        await s.Within();
    }

    [Fact]
    public void The_choice_among_ready_cases_is_uniformly_random()
    {
        // Chi-square over 100,000 selects with four always-ready cases; 3 degrees of freedom.
        // 27.9 is the p = 0.000004 critical value: a correct select fails this about once in 250,000 runs.
        var chans = Enumerable.Range(0, 4).Select(_ => new Chan<int>(1)).ToArray();
        foreach (var c in chans) c.TrySend(0);
        var sel = new Select();
        foreach (var c in chans) sel.Receive(c);
        var counts = new int[4];
        const int N = 100_000;
        for (int i = 0; i < N; i++)
        {
            int k = sel.Wait();
            counts[k]++;
            chans[k].TrySend(0);
        }
        double expected = N / 4.0;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 27.9, $"chi-square {chi2:0.00} over counts [{string.Join(", ", counts)}]");
    }

    [Fact]
    public void Steady_state_select_over_four_ready_cases_allocates_nothing()
    {
        var chans = Enumerable.Range(0, 4).Select(_ => new Chan<int>(1)).ToArray();
        foreach (var c in chans) c.TrySend(0);
        var sel = new Select();
        var cases = chans.Select(c => sel.Receive(c)).ToArray();
        for (int i = 0; i < 1000; i++) { int k = sel.Wait(); chans[k].TrySend(cases[k].Value); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) { int k = sel.Wait(); chans[k].TrySend(cases[k].Value); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Many_selecting_goroutines_receive_every_value_exactly_once()
    {
        // Stress (STYLE 14): selecting consumers over shared channels, concurrent senders, random cancellations,
        // a select send case, and closes at the end. Invariant: every value sent is received exactly once.
        const int Chans = 4, PerChan = 5000, Consumers = 6;
        var chans = Enumerable.Range(0, Chans).Select(i => new Chan<int>(i % 2 == 0 ? 0 : 8)).ToArray();
        var relay = new Chan<int>(); // consumers forward some values through a select send case
        var seen = new int[Chans * PerChan];
        int live = Chans;
        var producers = Enumerable.Range(0, Chans).Select(p => GoTask.Run(async () =>
        {
            for (int i = 0; i < PerChan; i++) await chans[p].SendAsync(p * PerChan + i);
            chans[p].Close();
        })).ToArray();
        var relayReader = GoTask.Run(async () =>
        {
            await foreach (var v in relay) Interlocked.Increment(ref seen[v]);
        });
        var consumers = Enumerable.Range(0, Consumers).Select(c => GoTask.Run(async () =>
        {
            var sel = new Select();
            var cases = chans.Select(ch => sel.Receive(ch)).ToArray();
            var fwd = sel.Send<int>(null, 0);
            var rnd = new Random(c);
            int pending = -1;
            while (true)
            {
                fwd.Channel = pending >= 0 ? relay : null;
                fwd.Value = pending;
                if (cases.All(x => x.Channel is null) && pending < 0) return;
                var cts = rnd.Next(8) == 0 ? new CancellationTokenSource() : null;
                var w = sel.WaitAsync(cts?.Token ?? default);
                if (cts is not null) ThreadPool.UnsafeQueueUserWorkItem(static s => s.Cancel(), cts, false);
                int k;
                try { k = await w; }
                catch (OperationCanceledException) { continue; }
                if (k == fwd.Index) { pending = -1; continue; }
                var rc = cases[k];
                if (!rc.Ok) { rc.Channel = null; continue; }
                if (pending < 0 && rnd.Next(4) == 0) pending = rc.Value; // forward it instead
                else Interlocked.Increment(ref seen[rc.Value]);
            }
        })).ToArray();
        await Task.WhenAll(producers).Within();
        await Task.WhenAll(consumers).Within();
        relay.Close();
        await relayReader.Within();
        _ = live;
        for (int i = 0; i < seen.Length; i++) Assert.True(seen[i] == 1, $"value {i} received {seen[i]} times");
    }
}
