using Xunit;

namespace Weft.Tests.Channels;

// The select rules of SelectTests.cs that are about a case's channel, restated over a flavour's two sides so that
// they run over every transport too: a receive case on Rx, a send case on Tx. SelectTests keeps the rules about the
// select itself (nil cases, default placement, timers, one waiter per select, allocation, the two passes), which do
// not depend on what carries the values.
public abstract partial class ChanContractTests
{
    /// <summary>Makes a receive on <paramref name="ends"/>' Rx ready: sends <paramref name="value"/> (parked, if a rendezvous) and waits until Rx could take it.</summary>
    private static Task Load(Ends ends, int value)
    {
        var send = ends.Tx.SendAsync(value).AsTask();
        Parked.Sender(ends.Rx);
        return send;
    }

    [Fact]
    public async Task Select_chooses_default_only_when_no_case_is_ready()
    {
        var ends = Make();
        var sel = new Select();
        var r = sel.Receive(ends.Rx);
        int dflt = sel.Default();
        Assert.Equal(dflt, await sel.WaitAsync().Within());
        var sender = Load(ends, 9);
        Assert.Equal(r.Index, await sel.WaitAsync().Within());
        Assert.Equal((9, true), (r.Value, r.Ok));
        await sender.Within();
        Assert.Equal(dflt, await sel.WaitAsync().Within()); // taken once
    }

    [Fact]
    public async Task A_blocked_select_completes_a_send_case()
    {
        var ends = Make();
        int prefill = Fill(ends, -1);
        var sel = new Select();
        var send = sel.Send(ends.Tx, 41);
        var w = sel.WaitAsync().AsTask();
        Assert.False(w.IsCompleted);
        for (int i = 0; i < prefill; i++) Assert.Equal(-1, await ends.Rx.ReceiveAsync().Within());
        Assert.Equal(41, await ends.Rx.ReceiveAsync().Within());
        Assert.Equal(send.Index, await w.Within());
    }

    [Fact]
    public async Task A_blocked_select_receives_ok_false_when_its_channel_closes()
    {
        var (tx, rx) = Make();
        var sel = new Select();
        var r = sel.Receive(rx);
        var w = sel.WaitAsync().AsTask();
        tx.Close();
        Assert.Equal(r.Index, await w.Within());
        Assert.False(r.Ok);
    }

    [Fact]
    public async Task A_select_send_case_on_a_closed_channel_throws_before_and_after_parking()
    {
        var (tx, _) = Make();
        tx.Close();
        var sel = new Select();
        sel.Send(tx, 1);
        await Assert.ThrowsAsync<ChannelClosedException>(() => sel.WaitAsync().AsTask());

        var ends2 = Make();
        Fill(ends2, -1);
        var sel2 = new Select();
        sel2.Send(ends2.Tx, 1);
        var w = sel2.WaitAsync().AsTask();
        Assert.False(w.IsCompleted);
        ends2.Tx.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => w.Within());
    }

    [Fact]
    public async Task A_cancelled_select_performs_no_case_and_can_wait_again()
    {
        var (tx, rx) = Make();
        var sel = new Select();
        var r = sel.Receive(rx);
        using var cts = new CancellationTokenSource();
        var w = sel.WaitAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.Within());
        if (Rendezvous) Assert.False(tx.TrySend(1)); // the select's node left the queue: nobody receives
        var s = tx.SendAsync(2).AsTask();
        Assert.Equal(r.Index, await sel.WaitAsync().Within());
        Assert.Equal(2, r.Value);
        await s.Within();
        Assert.False(rx.TryReceive(out _)); // the cancelled wait took nothing, so nothing is left over
    }

    [Fact]
    public async Task A_select_receive_case_woken_by_close_reports_zero_and_not_ok_after_an_earlier_value()
    {
        // The case's node is reused across waits: close must overwrite what the last value left in it.
        var (tx, rx) = Make();
        var sel = new Select();
        var r = sel.Receive(rx);
        var sender = tx.SendAsync(5).AsTask();
        Assert.Equal(r.Index, await sel.WaitAsync().Within());
        Assert.Equal((5, true), (r.Value, r.Ok));
        await sender.Within();
        var w = sel.WaitAsync().AsTask();
        tx.Close();
        Assert.Equal(r.Index, await w.Within());
        Assert.Equal((0, false), (r.Value, r.Ok));
    }

    [Fact]
    public async Task The_choice_among_ready_select_cases_is_uniformly_random()
    {
        // Chi-square over 20,000 selects with four ready cases, each refilled (and waited ready) after it is chosen;
        // 3 degrees of freedom. 27.9 is the p = 0.000004 critical value: a correct select fails this about once in
        // 250,000 runs.
        var ends = Enumerable.Range(0, 4).Select(_ => Make()).ToArray();
        var pending = new List<Task>();
        foreach (var e in ends) pending.Add(Load(e, 0));
        var sel = new Select();
        foreach (var e in ends) sel.Receive(e.Rx);
        var counts = new int[4];
        const int N = 20_000;
        int done = 0, refilling = -1; // progress: a slow loop passes, a stuck one fails and says where
        await Task.Run(() =>
        {
            for (int i = 0; i < N; i++)
            {
                int k = sel.Wait();
                counts[k]++;
                Volatile.Write(ref refilling, k);
                pending.Add(Load(ends[k], 0));
                Volatile.Write(ref refilling, -1);
                if (pending.Count > 64) pending.RemoveAll(t => t.IsCompletedSuccessfully);
                Volatile.Write(ref done, i + 1);
            }
        }).WithinProgress(() => Volatile.Read(ref done), () => $"{Volatile.Read(ref done)} of {N} selects done; " + (Volatile.Read(ref refilling) is int r and >= 0 ? $"waiting for case {r}'s refill to be ready" : "in the select"));
        foreach (var e in ends) Assert.Equal(0, await e.Rx.ReceiveAsync().Within()); // each holds its last load, which a rendezvous sender waits to hand over
        await Task.WhenAll(pending).Within();
        double expected = N / 4.0;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 27.9, $"chi-square {chi2:0.00} over counts [{string.Join(", ", counts)}]");
    }

    [Fact]
    public async Task Many_selecting_goroutines_receive_every_value_exactly_once()
    {
        // Stress (STYLE 14), as SelectTests' local version: selecting consumers over four channels of this flavour,
        // concurrent senders, random cancellations, a select send case into a fifth, and closes at the end.
        // Invariant: every value sent is received exactly once.
        const int Chans = 4, PerChan = 2000, Consumers = 6;
        var chans = Enumerable.Range(0, Chans).Select(_ => Make()).ToArray();
        var relay = Make(); // consumers forward some values through a select send case
        var seen = new int[Chans * PerChan];
        var producers = Enumerable.Range(0, Chans).Select(p => GoTask.Run(async () =>
        {
            for (int i = 0; i < PerChan; i++) await chans[p].Tx.SendAsync(p * PerChan + i);
            chans[p].Tx.Close();
        })).ToArray();
        var relayReader = GoTask.Run(async () =>
        {
            await foreach (var v in relay.Rx) Interlocked.Increment(ref seen[v]);
        });
        var consumers = Enumerable.Range(0, Consumers).Select(c => GoTask.Run(async () =>
        {
            var sel = new Select();
            var cases = chans.Select(ch => sel.Receive(ch.Rx)).ToArray();
            var fwd = sel.Send<int>(null, 0);
            var rnd = new Random(c);
            int pending = -1;
            while (true)
            {
                fwd.Channel = pending >= 0 ? relay.Tx : null;
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
        relay.Tx.Close();
        await relayReader.Within();
        for (int i = 0; i < seen.Length; i++) Assert.True(seen[i] == 1, $"value {i} received {seen[i]} times");
    }
}
