using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// The rules of the select itself: nil cases, default, timers, one waiter per select, allocation, the two passes.
/// The rules about what a case does to its channel (a parked send case completing, close waking a case, a cancelled
/// select taking nothing, exactly-once under stress) are in the channel contract (ChanContractTests.Select.cs), so
/// that they run over every local flavour and every IPC transport.
/// </summary>
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
        TestTimeout.Blocking(() =>
        {
            for (int i = 0; i < N; i++)
            {
                int k = sel.Wait();
                counts[k]++;
                chans[k].TrySend(0);
            }
        });
        double expected = N / 4.0;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 27.9, $"chi-square {chi2:0.00} over counts [{string.Join(", ", counts)}]");
    }

    [Fact]
    public void The_choice_between_two_ready_cases_is_fair_whatever_positions_they_hold()
    {
        // The poll order must be a uniform permutation, not only uniform in its first slot: with two of four cases
        // ready, the winner is whichever comes first in the order, so a generator whose permutations favour some
        // orders shows as a bias for some pairs of positions. Chi-square per pair, 1 degree of freedom; 28.4 is the
        // p = 0.0000001 critical value, so the six pairs together fail a correct select about once in 1.7 million runs.
        const int N = 300_000;
        for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
        {
            var chans = Enumerable.Range(0, 4).Select(_ => new Chan<int>(1)).ToArray();
            chans[a].TrySend(0);
            chans[b].TrySend(0);
            var sel = new Select();
            foreach (var c in chans) sel.Receive(c);
            int wonByA = TestTimeout.Blocking(() =>
            {
                int won = 0;
                for (int i = 0; i < N; i++)
                {
                    int k = sel.Wait();
                    Assert.True(k == a || k == b, $"case {k} won, but only {a} and {b} are ready");
                    if (k == a) won++;
                    chans[k].TrySend(0);
                }
                return won;
            });
            double expected = N / 2.0;
            double chi2 = 2 * (wonByA - expected) * (wonByA - expected) / expected;
            Assert.True(chi2 < 28.4, $"ready cases {a} and {b}: {a} won {wonByA} of {N} (chi-square {chi2:0.00})");
        }
    }

    [Fact]
    public void Steady_state_select_over_four_ready_cases_allocates_nothing()
    {
        var chans = Enumerable.Range(0, 4).Select(_ => new Chan<int>(1)).ToArray();
        foreach (var c in chans) c.TrySend(0);
        var sel = new Select();
        var cases = chans.Select(c => sel.Receive(c)).ToArray();
        long allocated = TestTimeout.Blocking(() =>
        {
            for (int i = 0; i < 1000; i++) { int k = sel.Wait(); chans[k].TrySend(cases[k].Value); }
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++) { int k = sel.Wait(); chans[k].TrySend(cases[k].Value); }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task A_parked_select_queues_its_cases_in_a_random_order()
    {
        // Go's TestPseudoRandomSend with the select parked every time: two send cases on one unbuffered channel, and
        // the receiver takes a value only once both nodes are queued. Which one it gets is the order the select
        // queued them in, so that order must be random (about half zeros). 1000 fair coins land outside
        // [100, 900] with probability below 1e-140; queuing in registration order gives 0 zeros.
        const int N = 1000;
        var c = new Chan<int>();
        var sel = new Select();
        sel.Send(c, 1);
        sel.Send(c, 0);
        var selecting = Task.Factory.StartNew(() => { for (int i = 0; i < N; i++) sel.Wait(); }, TaskCreationOptions.LongRunning);
        var receiving = Task.Factory.StartNew(() =>
        {
            int zeros = 0;
            for (int i = 0; i < N; i++)
            {
                Parked.Sender(c);
                if (c.Receive() == 0) zeros++;
            }
            return zeros;
        }, TaskCreationOptions.LongRunning);
        int zeros = await receiving.Within();
        await selecting.Within();
        Assert.InRange(zeros, N / 10, N - N / 10);
    }

    [Fact]
    public void Two_threads_waiting_on_one_select_at_once_the_second_always_gets_InvalidOperationException()
    {
        // Both threads are released together into Wait. The guard must be atomic: exactly one waits (and leaves by
        // its token), the other is refused at once. A racy check lets both in; they then share the case nodes and
        // one of them hangs past its cancellation. Many cases widen the window between the check and the park.
        var chans = Enumerable.Range(0, 64).Select(_ => new Chan<int>()).ToArray();
        var sel = new Select();
        foreach (var ch in chans) sel.Receive(ch);
        for (int round = 0; round < 200; round++)
        {
            using var cts = new CancellationTokenSource();
            using var start = new Barrier(2);
            var outcomes = new string?[2];
            var threads = new Thread[2];
            for (int t = 0; t < 2; t++)
            {
                int me = t;
                threads[t] = new Thread(() =>
                {
                    start.SignalAndWait();
                    try { sel.Wait(cts.Token); outcomes[me] = "returned"; }
                    catch (InvalidOperationException) { outcomes[me] = "refused"; }
                    catch (OperationCanceledException) { outcomes[me] = "cancelled"; }
                }) { IsBackground = true };
                threads[t].Start();
            }
            // The refused one finishes by itself; only then is the other cancelled.
            Parked.Until(() => Volatile.Read(ref outcomes[0]) is not null || Volatile.Read(ref outcomes[1]) is not null,
                $"one of two simultaneous waiters is refused (round {round})", TimeSpan.FromSeconds(5));
            cts.Cancel();
            foreach (var th in threads) Assert.True(th.Join(TestTimeout.Default), $"a waiter hung past its cancellation (round {round})");
            Assert.Equal(["cancelled", "refused"], outcomes.Order());
            foreach (var ch in chans) Assert.False(ch.TrySend(1)); // no node left queued
        }
    }

    [Fact]
    public async Task A_default_case_added_first_is_chosen_when_nothing_is_ready_and_only_one_default_is_allowed()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        int dflt = sel.Default();
        Assert.Equal(0, dflt);
        var r = sel.Receive(ch);
        Assert.Throws<InvalidOperationException>(() => sel.Default());
        Assert.Equal(dflt, await sel.WaitAsync().Within(Parked.Prompt));
        Assert.Equal(dflt, TestTimeout.Blocking(() => sel.Wait()));
        Assert.False(ch.TrySend(1)); // the default wait queued nothing
        var sender = GoTask.Run(() => ch.SendAsync(3).AsTask());
        Parked.Sender(ch);
        Assert.Equal(r.Index, TestTimeout.Blocking(() => sel.Wait()));
        Assert.Equal(3, r.Value);
        await sender.Within();
    }

    [Fact]
    public void Selects_over_the_same_channels_in_opposite_orders_neither_deadlock_nor_lose_or_duplicate()
    {
        // Two threads select {send a; receive b} (a added first), two select {send b; receive a} (b added first),
        // so they meet each other in both directions and often lock the same two channels at once: only one global
        // lock order keeps them from deadlocking. Every value a send case delivered is received exactly once. The
        // threads stop through their tokens once enough rendezvous happened; a cancelled wait performs nothing.
        const int Rendezvous = 20_000;
        var a = new Chan<int>();
        var b = new Chan<int>();
        using var stop = new CancellationTokenSource();
        int completed = 0;
        var sent = new List<int>[4];
        var received = new List<int>[4];
        var threads = new Thread[4];
        for (int t = 0; t < 4; t++)
        {
            int me = t;
            sent[me] = [];
            received[me] = [];
            threads[t] = new Thread(() =>
            {
                var (first, second) = me % 2 == 0 ? (a, b) : (b, a);
                var sel = new Select();
                var send = sel.Send(first, 0);
                var recv = sel.Receive(second);
                int next = me * 10_000_000;
                while (true)
                {
                    send.Value = next;
                    int k;
                    try { k = sel.Wait(stop.Token); }
                    catch (OperationCanceledException) { return; }
                    if (k == send.Index) sent[me].Add(next++);
                    else received[me].Add(recv.Value);
                    // Each rendezvous completes one case on each side: stop after 2 × Rendezvous cases.
                    if (Interlocked.Increment(ref completed) >= 2 * Rendezvous) stop.Cancel();
                }
            }) { IsBackground = true };
            threads[t].Start();
        }
        // A deadlock shows as no progress: fail once the count of completed cases stands still for Parked.Prompt.
        int seen = -1;
        var still = System.Diagnostics.Stopwatch.StartNew();
        while (!threads.All(th => th.Join(10)))
        {
            int now = Volatile.Read(ref completed);
            if (now != seen) { seen = now; still.Restart(); }
            Assert.True(still.Elapsed < Parked.Prompt, $"selects over the same channels in opposite orders deadlocked after {seen} cases");
        }
        var allSent = sent.SelectMany(x => x).Order().ToArray();
        var allReceived = received.SelectMany(x => x).Order().ToArray();
        Assert.True(allSent.Length >= Rendezvous - 4, $"only {allSent.Length} values sent");
        Assert.Equal(allSent, allReceived);
    }

    [Fact]
    public async Task The_blocking_Wait_wakes_the_counterpart_it_took()
    {
        // A receive case that takes a parked sender's value, and a send case that hands a parked receiver its value:
        // the parked side must be resumed by the select's thread.
        var ch = new Chan<int>();
        var sel = new Select();
        var recv = sel.Receive(ch);
        var sender = GoTask.Run(() => ch.SendAsync(5).AsTask());
        Parked.Sender(ch);
        Assert.Equal(recv.Index, TestTimeout.Blocking(() => sel.Wait()));
        Assert.Equal(5, recv.Value);
        await sender.Within(TimeSpan.FromSeconds(3));

        var ch2 = new Chan<int>();
        var sel2 = new Select();
        var send = sel2.Send(ch2, 8);
        var receiver = GoTask.Run(() => ch2.ReceiveAsync().AsTask());
        Parked.Receiver(ch2);
        Assert.Equal(send.Index, TestTimeout.Blocking(() => sel2.Wait()));
        Assert.Equal(8, await receiver.Within(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task Adding_a_case_during_a_wait_is_refused()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        var r = sel.Receive(ch);
        Assert.Equal(1, sel.Count);
        var wait = sel.WaitAsync().AsTask();
        Assert.Throws<InvalidOperationException>(() => sel.Receive(new Chan<int>()));
        Assert.Throws<InvalidOperationException>(() => sel.Send(new Chan<int>(), 1));
        Assert.Throws<InvalidOperationException>(() => sel.Default());
        Assert.Throws<InvalidOperationException>(() => { _ = sel.WaitAsync(); });
        Assert.Throws<InvalidOperationException>(() => TestTimeout.Blocking(() => sel.Wait()));
        Assert.Equal(1, sel.Count);
        Assert.True(ch.TrySend(1));
        Assert.Equal(r.Index, await wait.Within(Parked.Prompt));
        sel.Receive(new Chan<int>()); // after the wait: allowed
        Assert.Equal(2, sel.Count);
    }

    [Fact]
    public async Task A_ValueTask_from_WaitAsync_may_be_awaited_only_once()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        sel.Receive(ch);
        var vt = sel.WaitAsync();
        Assert.False(vt.IsCompleted);
        Assert.True(ch.TrySend(1));
        Assert.Equal(0, await vt.AsTask().Within(Parked.Prompt)); // AsTask takes the result once
        Assert.Throws<InvalidOperationException>(() => vt.GetAwaiter().GetResult());
        Assert.Throws<InvalidOperationException>(() => vt.IsCompleted);
    }

    [Fact]
    public async Task A_finished_waits_token_cannot_cancel_a_later_wait()
    {
        // The select's one core serves every wait: the first wait's token registration must be gone once it returned.
        var ch = new Chan<int>();
        var sel = new Select();
        var r = sel.Receive(ch);
        using var first = new CancellationTokenSource();
        var w1 = sel.WaitAsync(first.Token).AsTask();
        Assert.True(ch.TrySend(1));
        Assert.Equal(r.Index, await w1.Within(Parked.Prompt));
        var w2 = sel.WaitAsync().AsTask();
        first.Cancel();
        Assert.False(w2.IsCompleted);
        Assert.True(ch.TrySend(2));
        Assert.Equal(r.Index, await w2.Within(Parked.Prompt));
        Assert.Equal(2, r.Value);
    }

    [Fact]
    public async Task Cancelling_a_parked_select_resumes_it_promptly_from_a_goroutine_and_from_a_thread()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        sel.Receive(ch);
        using var cts = new CancellationTokenSource();
        var async = GoTask.Run(async () => await sel.WaitAsync(cts.Token));
        Parked.Receiver(ch);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => async.Within(Parked.Prompt));
        Assert.False(ch.TrySend(1));

        using var cts2 = new CancellationTokenSource();
        var blocking = Task.Factory.StartNew(() => sel.Wait(cts2.Token), TaskCreationOptions.LongRunning);
        Parked.Receiver(ch);
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocking.Within(Parked.Prompt));
        Assert.False(ch.TrySend(1));
    }

    [Fact]
    public async Task A_timeout_case_fires_promptly_in_both_forms()
    {
        var sel = new Select();
        sel.Receive(new Chan<int>());
        var timeout = sel.Timeout(TimeSpan.FromMilliseconds(10));
        Assert.Equal(timeout.Index, await sel.WaitAsync().Within(Parked.Prompt));
        Assert.True(timeout.Ok);
        Assert.Equal(timeout.Index, await Task.Factory.StartNew(() => sel.Wait(), TaskCreationOptions.LongRunning).Within(Parked.Prompt));
        Assert.Throws<ArgumentOutOfRangeException>(() => sel.Timeout(TimeSpan.FromTicks(-1)));
        Assert.Throws<InvalidOperationException>(() => timeout.Channel = new Chan<DateTime>());
    }

    [Fact]
    public async Task A_send_case_woken_by_close_throws_even_after_an_earlier_delivery()
    {
        var ch = new Chan<int>();
        var sel = new Select();
        var s = sel.Send(ch, 1);
        var receiver = ch.ReceiveAsync().AsTask();
        Assert.Equal(s.Index, await sel.WaitAsync().Within(Parked.Prompt));
        Assert.Equal(1, await receiver.Within(Parked.Prompt));
        var w = sel.WaitAsync().AsTask();
        ch.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => w.Within(Parked.Prompt));
        Assert.Throws<ChannelClosedException>(() => TestTimeout.Blocking(() => sel.Wait())); // closed before the wait: the send case is chosen and throws
    }

    [Fact]
    public void A_value_that_arrives_between_the_two_passes_is_taken_not_slept_beside()
    {
        // A sends into an empty one-slot buffer just as B's select (one receive case, no default) starts. B's
        // lock-free first pass may miss the value; then only the second pass, under the channel's lock, sees it
        // before B would park, and a missed value leaves B parked beside it for good. Every round is bounded. 32
        // cases that are never ready widen the window between the passes (more to peek, then more to lock).
        const int Rounds = 1000;
        var chans = Enumerable.Range(0, Rounds).Select(_ => new Chan<int>(1)).ToArray();
        // Not disposed: B may outlive a failed test and still read its token. B's own failure is kept for the test
        // thread (an exception escaping a plain thread would end the test host).
        var stop = new CancellationTokenSource();
        int started = -1, finished = -1;
        Exception? failure = null;
        var b = new Thread(() =>
        {
            try
            {
                var sel = new Select();
                for (int i = 0; i < 32; i++) sel.Receive(new Chan<int>());
                var recv = sel.Receive<int>(null);
                for (int r = 0; r < Rounds; r++)
                {
                    recv.Channel = chans[r];
                    Volatile.Write(ref started, r);
                    try { sel.Wait(stop.Token); }
                    catch (OperationCanceledException) { return; }
                    Assert.Equal(r, recv.Value);
                    Volatile.Write(ref finished, r);
                }
            }
            catch (Exception e)
            {
                Volatile.Write(ref failure, e);
            }
        }) { IsBackground = true };
        b.Start();
        try
        {
            for (int r = 0; r < Rounds; r++)
            {
                int round = r;
                Parked.Until(() => Volatile.Read(ref started) == round, $"round {round} starts");
                Assert.True(chans[r].TrySend(r));
                Parked.Until(() => Volatile.Read(ref finished) == round, $"the select takes the value of round {round}", Parked.Prompt);
            }
        }
        finally
        {
            stop.Cancel();
        }
        Assert.True(b.Join(TestTimeout.Default));
        Assert.Null(Volatile.Read(ref failure));
    }
}
