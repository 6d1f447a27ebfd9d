using Weft.Tests;
using Weft.Tests.Channels;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// Issue 16's promise: one select waits on a local channel, a pipe from a child process, a socket pair and a timer
/// alike, with Go's rules unchanged: every value arrives exactly once, and the choice among ready cases is uniform.
/// </summary>
[Collection(ChildProcessCollection.Name)]
public sealed class ChildPipeSelectTests
{
    [Fact]
    public async Task A_select_over_a_local_channel_a_pipe_from_a_child_a_socket_pair_and_a_ticker_gets_every_value_exactly_once_in_order()
    {
        const int N = 5_000;
        var local = new Chan<long>();
        var (process, fromChild) = IpcChild.StartWithReceiver(PeerProcess.StartInfo("pipe-send-count", N.ToString(System.Globalization.CultureInfo.InvariantCulture)), IpcCodec.Unmanaged<long>());
        using var peer = PeerProcess.Adopt(process);
        var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged<long>());
        var ticker = Go.NewTicker(TimeSpan.FromMilliseconds(1));
        using (fromChild)
        using (a)
        using (b)
        {
            var localSends = Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++) await local.SendAsync(i);
                local.Close();
            });
            var socketSends = Gor.Run(async () =>
            {
                for (long i = 0; i < N; i++) await a.Sender.Channel.SendAsync(i);
                a.Sender.Channel.Close();
            });
            var (next, ticks) = await Gor.Run(async () =>
            {
                var sel = new Select();
                var cases = new[] { sel.Receive<long>(local), sel.Receive(fromChild.Channel), sel.Receive(b.Receiver.Channel) };
                var tick = sel.Receive(ticker.C);
                var expect = new long[3];
                long ticks = 0;
                while (cases.Any(c => c.Channel is not null))
                {
                    int k = await sel.WaitAsync();
                    if (k == tick.Index)
                    {
                        ticks++;
                        continue;
                    }
                    int source = Array.FindIndex(cases, c => c.Index == k);
                    var c = cases[source];
                    if (!c.Ok)
                    {
                        c.Channel = null;
                        continue;
                    }
                    Assert.Equal(expect[source], c.Value); // in order, none lost, none twice
                    expect[source]++;
                }
                return (expect, ticks);
            });
            await localSends;
            await socketSends;
            Assert.Equal([N, N, N], next);
            Assert.Null(fromChild.Error);
            Assert.Null(b.Receiver.Error);
            Assert.Equal(0, await peer.WaitForExitAsync());
            ticker.Stop();
            _ = ticks; // the ticker was a live case throughout; how often it fired depends on the machine
        }
    }

    [Fact]
    public async Task The_choice_among_a_ready_local_channel_pipe_from_a_child_socket_pair_and_timer_is_uniformly_random()
    {
        // Chi-square over 8,000 selects whose four cases are all ready at every wait: the chosen one is refilled and
        // waited ready before the next (the child's through a round trip: a pipe to a relay child and its pipe back).
        // 3 degrees of freedom; 27.9 is the p = 0.000004 critical value, as in the local select test.
        const int N = 8_000;
        var local = new Chan<int>(1);
        var (process, toChild, fromChild) = IpcChild.Start(PeerProcess.StartInfo("pipe-relay"), IpcCodec.Unmanaged<int>(), IpcCodec.Unmanaged<int>());
        using var peer = PeerProcess.Adopt(process);
        var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged<int>());
        var timer = Go.NewTimer(TimeSpan.Zero);
        using (toChild)
        using (fromChild)
        using (a)
        using (b)
        {
            await peer.WaitReadyAsync();
            var refill = new Action[]
            {
                () => Assert.True(local.TrySend(0)),
                () => { Assert.True(toChild.Channel.TrySend(0)); Parked.Sender(fromChild.Channel.Channel!); },
                () => { Assert.True(a.Sender.Channel.TrySend(0)); Parked.Sender(b.Receiver.Channel.Channel!); },
                () => { timer.Reset(TimeSpan.Zero); Parked.Sender(timer.C.Channel!); },
            };
            foreach (var r in refill[..3]) r();
            Parked.Sender(timer.C.Channel!);
            var counts = new int[4];
            int done = 0, refilling = -1; // progress: a slow loop passes, a stuck one fails and says where
            await Task.Run(() =>
            {
                var sel = new Select();
                var cases = new[] { sel.Receive<int>(local).Index, sel.Receive(fromChild.Channel).Index, sel.Receive(b.Receiver.Channel).Index, sel.Receive(timer.C).Index };
                for (int i = 0; i < N; i++)
                {
                    int source = Array.IndexOf(cases, sel.Wait());
                    counts[source]++;
                    Volatile.Write(ref refilling, source);
                    refill[source]();
                    Volatile.Write(ref refilling, -1);
                    Volatile.Write(ref done, i + 1);
                }
            }).WithinProgress(() => Volatile.Read(ref done), () => $"{Volatile.Read(ref done)} of {N} selects done; " + (Volatile.Read(ref refilling) is int r and >= 0 ? $"waiting for case {r}'s refill to be ready" : "in the select"));
            double expected = N / 4.0;
            double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
            Assert.True(chi2 < 27.9, $"chi-square {chi2:0.00} over counts [{string.Join(", ", counts)}] (local, child pipe, socket pair, timer)");
            timer.Stop();
            toChild.Channel.Close();
            Assert.Equal(0, await peer.WaitForExitAsync());
        }
    }
}
