// A port of Go's src/runtime/chan_test.go: Weft's own C# checking what each Go test checks, under Go's test names
// and with Go's counts. Each Go test runs as a goroutine (GoTask), as Go's test functions do.
// Benchmarks (BenchmarkChan*, BenchmarkSelect*, BenchmarkMakeChan, ...) are not tests and are not ported: Weft's
// workloads live in bench/Weft.Bench.

using Weft.Sync;
using Weft.Tests.Channels;
using Xunit;

namespace Weft.Tests.GoPort;

public sealed class ChanTest
{
    /// <summary>Sets Go.MaxProcs for one test, as Go's tests do with <c>defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))</c>.</summary>
    private sealed class MaxProcs : IDisposable
    {
        private readonly int _previous = Go.MaxProcs;
        public MaxProcs(int n) => Go.MaxProcs = n;
        public void Dispose() => Go.MaxProcs = _previous;
    }

    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task TestChan()
    {
        using var procs = new MaxProcs(4);
        const int N = 200;
        await GoTask.Run(async () =>
        {
            for (int chanCap = 0; chanCap < N; chanCap++)
            {
                {
                    // A receive from an empty channel blocks, in both forms; so does a non-blocking one (select with default).
                    var c = new Chan<int>(chanCap);
                    int recv1 = 0, recv2 = 0;
                    Go.Run(async () => { await c.ReceiveAsync(); Volatile.Write(ref recv1, 1); });
                    Go.Run(async () => { await c.ReceiveOkAsync(); Volatile.Write(ref recv2, 1); });
                    await Go.Sleep(Millisecond);
                    Assert.False(Volatile.Read(ref recv1) != 0 || Volatile.Read(ref recv2) != 0, $"chan[{chanCap}]: receive from empty chan");
                    var sel = new Select();
                    sel.Receive(c);
                    int none = sel.Default();
                    Assert.True(await sel.WaitAsync() == none, $"chan[{chanCap}]: receive from empty chan");
                    Assert.False(c.TryReceive(out _, out _), $"chan[{chanCap}]: receive from empty chan");
                    await c.SendAsync(0);
                    await c.SendAsync(0);
                }

                {
                    // A send to a full channel blocks; so does a non-blocking one.
                    var c = new Chan<int>(chanCap);
                    for (int i = 0; i < chanCap; i++) await c.SendAsync(i);
                    int sent = 0;
                    Go.Run(async () => { await c.SendAsync(0); Volatile.Write(ref sent, 1); });
                    await Go.Sleep(Millisecond);
                    Assert.True(Volatile.Read(ref sent) == 0, $"chan[{chanCap}]: send to full chan");
                    var sel = new Select();
                    sel.Send(c, 0);
                    int none = sel.Default();
                    Assert.True(await sel.WaitAsync() == none, $"chan[{chanCap}]: send to full chan");
                    await c.ReceiveAsync();
                }

                {
                    // A closed channel delivers what it buffered, then zero values.
                    var c = new Chan<int>(chanCap);
                    for (int i = 0; i < chanCap; i++) await c.SendAsync(i);
                    c.Close();
                    for (int i = 0; i < chanCap; i++)
                    {
                        int v = await c.ReceiveAsync();
                        Assert.True(v == i, $"chan[{chanCap}]: received {v}, expected {i}");
                    }
                    Assert.Equal(0, await c.ReceiveAsync());
                    Assert.Equal((0, false), await c.ReceiveOkAsync());
                }

                {
                    // Close unblocks a receive.
                    var c = new Chan<int>(chanCap);
                    var done = new Chan<bool>();
                    Go.Run(async () =>
                    {
                        var (v, ok) = await c.ReceiveOkAsync();
                        await done.SendAsync(v == 0 && !ok);
                    });
                    await Go.Sleep(Millisecond);
                    c.Close();
                    Assert.True(await done.ReceiveAsync(), $"chan[{chanCap}]: received non zero from closed chan");
                }

                {
                    // 100 integers arrive uncorrupted and in FIFO order, through both receive forms.
                    var c = new Chan<int>(chanCap);
                    Go.Run(async () => { for (int i = 0; i < 100; i++) await c.SendAsync(i); });
                    for (int i = 0; i < 100; i++)
                    {
                        int v = await c.ReceiveAsync();
                        Assert.True(v == i, $"chan[{chanCap}]: received {v}, expected {i}");
                    }
                    Go.Run(async () => { for (int i = 0; i < 100; i++) await c.SendAsync(i); });
                    for (int i = 0; i < 100; i++)
                    {
                        var (v, ok) = await c.ReceiveOkAsync();
                        Assert.True(ok, $"chan[{chanCap}]: receive failed, expected {i}");
                        Assert.True(v == i, $"chan[{chanCap}]: received {v}, expected {i}");
                    }

                    // 4 senders × 1000 integers, 4 receivers: each value arrives exactly P times.
                    const int P = 4, L = 1000;
                    for (int p = 0; p < P; p++) Go.Run(async () => { for (int i = 0; i < L; i++) await c.SendAsync(i); });
                    var done = new Chan<Dictionary<int, int>>();
                    for (int p = 0; p < P; p++)
                    {
                        Go.Run(async () =>
                        {
                            var mine = new Dictionary<int, int>();
                            for (int i = 0; i < L; i++)
                            {
                                int v = await c.ReceiveAsync();
                                mine[v] = mine.GetValueOrDefault(v) + 1;
                            }
                            await done.SendAsync(mine);
                        });
                    }
                    var recv = new Dictionary<int, int>();
                    for (int p = 0; p < P; p++)
                        foreach (var (k, v) in (await done.ReceiveAsync())!) recv[k] = recv.GetValueOrDefault(k) + v;
                    Assert.True(recv.Count == L, $"chan[{chanCap}]: received {recv.Count} values, expected {L}");
                    foreach (var v in recv.Values) Assert.True(v == P, $"chan[{chanCap}]: received {v} values, expected {P}");
                }

                {
                    // Len and Capacity.
                    var c = new Chan<int>(chanCap);
                    Assert.True(c.Len == 0 && c.Capacity == chanCap, $"chan[{chanCap}]: bad len/cap {c.Len}/{c.Capacity}");
                    for (int i = 0; i < chanCap; i++) await c.SendAsync(i);
                    Assert.True(c.Len == chanCap && c.Capacity == chanCap, $"chan[{chanCap}]: bad len/cap {c.Len}/{c.Capacity}");
                }
            }
        }).Within();
    }

    [Fact]
    public async Task TestNonblockRecvRace()
    {
        // A non-blocking receive racing a close must see the buffered value or the close, never "not ready".
        const int n = 10000;
        int notReady = 0;
        await GoTask.Run(async () =>
        {
            var finished = new WaitGroup();
            for (int i = 0; i < n; i++)
            {
                var c = new Chan<int>(1);
                await c.SendAsync(1);
                finished.Add(1);
                Go.Run(async () =>
                {
                    var sel = new Select();
                    sel.Receive(c);
                    int none = sel.Default();
                    if (await sel.WaitAsync() == none) Interlocked.Increment(ref notReady);
                    finished.Done();
                });
                c.Close();
                await c.ReceiveAsync();
            }
            await finished.WaitAsync();
        }).Within();
        Assert.True(notReady == 0, $"chan is not ready {notReady} times");
    }

    // Select acts on the state of its channels at one moment, not over a smeared window: from the moment the second
    // goroutine starts, c1 or c2 is always ready, so its non-blocking select must never take the default.
    [Fact]
    public Task TestNonblockSelectRace() => NonblockSelectRace(closeC2: false);

    // As TestNonblockSelectRace, with close(c2) in place of a send on c2.
    [Fact]
    public Task TestNonblockSelectRace2() => NonblockSelectRace(closeC2: true);

    private static async Task NonblockSelectRace(bool closeC2)
    {
        const int n = 100000;
        await GoTask.Run(async () =>
        {
            var done = new Chan<bool>(1);
            for (int i = 0; i < n; i++)
            {
                var c1 = new Chan<int>(1);
                var c2 = new Chan<int>(closeC2 ? 0 : 1);
                await c1.SendAsync(1);
                Go.Run(async () =>
                {
                    var sel = new Select();
                    sel.Receive(c1);
                    sel.Receive(c2);
                    int none = sel.Default();
                    await done.SendAsync(await sel.WaitAsync() != none);
                });
                if (closeC2) c2.Close();
                else await c2.SendAsync(1);
                c1.TryReceive(out _);
                Assert.True(await done.ReceiveAsync(), $"no chan is ready (iteration {i})");
            }
        }).Within();
    }

    [Fact]
    public async Task TestSelfSelect()
    {
        // A select with a send and a receive case on one channel neither crashes nor deadlocks, and on an unbuffered
        // channel never receives its own value.
        using var procs = new MaxProcs(2);
        foreach (int chanCap in new[] { 0, 10 })
        {
            var c = new Chan<int>(chanCap);
            var workers = Enumerable.Range(0, 2).Select(p => GoTask.Run(async () =>
            {
                var sendFirst = new Select();
                var s1 = sendFirst.Send(c, p);
                var r1 = sendFirst.Receive(c);
                var recvFirst = new Select();
                var r2 = recvFirst.Receive(c);
                var s2 = recvFirst.Send(c, p);
                for (int i = 0; i < 1000; i++)
                {
                    bool first = p == 0 || i % 2 == 0;
                    var (sel, recv) = first ? (sendFirst, r1) : (recvFirst, r2);
                    int k = await sel.WaitAsync();
                    if (k == recv.Index && chanCap == 0) Assert.True(recv.Value != p, "self receive");
                }
                _ = s1;
                _ = s2;
            })).ToArray();
            await Task.WhenAll(workers).Within();
        }
    }

    [Fact]
    public async Task TestSelectStress()
    {
        // Four senders and four receivers, one per channel, plus one select sending on all four and one receiving
        // from all four, N values each: the chaos must not deadlock (and every count comes out exact).
        using var procs = new MaxProcs(10);
        var c = new[] { new Chan<int>(), new Chan<int>(), new Chan<int>(2), new Chan<int>(3) };
        const int N = 100_000;
        var tasks = new List<Task>();
        for (int k = 0; k < 4; k++)
        {
            var ch = c[k];
            tasks.Add(GoTask.Run(async () => { for (int i = 0; i < N; i++) await ch.SendAsync(0); }));
            tasks.Add(GoTask.Run(async () => { for (int i = 0; i < N; i++) await ch.ReceiveAsync(); }));
        }
        tasks.Add(GoTask.Run(async () =>
        {
            var n = new int[4];
            var sel = new Select();
            var cases = new[] { 3, 2, 0, 1 }.Select(k => (k, sel.Send(c[k], 0))).ToArray(); // Go's case order
            for (int i = 0; i < 4 * N; i++)
            {
                int chosen = await sel.WaitAsync();
                var (k, sc) = cases[chosen];
                if (++n[k] == N) sc.Channel = null;
            }
        }));
        tasks.Add(GoTask.Run(async () =>
        {
            var n = new int[4];
            var sel = new Select();
            var cases = Enumerable.Range(0, 4).Select(k => sel.Receive(c[k])).ToArray();
            for (int i = 0; i < 4 * N; i++)
            {
                int k = await sel.WaitAsync();
                if (++n[k] == N) cases[k].Channel = null;
            }
        }));
        await Task.WhenAll(tasks).Within(TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task TestSelectFairness()
    {
        // Two always-ready channels among four cases: each is chosen about half the time (within 10 sigma).
        const int trials = 10000;
        var c1 = new Chan<byte>(trials + 1);
        var c2 = new Chan<byte>(trials + 1);
        for (int i = 0; i < trials + 1; i++)
        {
            Assert.True(c1.TrySend(1));
            Assert.True(c2.TrySend(2));
        }
        var c3 = new Chan<byte>();
        var c4 = new Chan<byte>();
        var output = new Chan<byte>();
        var done = new Chan<byte>();
        var chooser = GoTask.Run(async () =>
        {
            var pick = new Select();
            var cases = new[] { pick.Receive(c3), pick.Receive(c4), pick.Receive(c1), pick.Receive(c2) };
            var forward = new Select();
            var put = forward.Send(output, (byte)0);
            var quit = forward.Receive(done);
            while (true)
            {
                put.Value = cases[await pick.WaitAsync()].Value;
                if (await forward.WaitAsync() == quit.Index) return;
            }
        });
        int cnt1 = 0, cnt2 = 0;
        await GoTask.Run(async () =>
        {
            for (int i = 0; i < trials; i++)
            {
                byte b = await output.ReceiveAsync();
                if (b == 1) cnt1++;
                else if (b == 2) cnt2++;
                else Assert.Fail($"unexpected value {b} on channel");
            }
        }).Within();
        const double mean = trials * 0.5;
        double stddev = Math.Sqrt(trials * 0.5 * (1 - 0.5));
        Assert.True(Math.Abs(cnt1 - mean) <= 10 * stddev, $"unfair select: in {trials} trials, results were {cnt1}, {cnt2}");
        done.Close();
        await chooser.Within();
    }

    [Fact]
    public async Task TestChanSendInterface()
    {
        // Send cases on a full channel of object (Go: interface{}) with a default: the default wins, nothing breaks.
        var m = new object();
        var c = new Chan<object>(1);
        await c.SendAsync(m).Within();
        var sel = new Select();
        sel.Send(c, m);
        int none = sel.Default();
        Assert.Equal(none, await sel.WaitAsync().Within());
        var sel2 = new Select();
        sel2.Send(c, m);
        sel2.Send(c, new object());
        int none2 = sel2.Default();
        Assert.Equal(none2, await sel2.WaitAsync().Within());
        Assert.Same(m, await c.ReceiveAsync().Within());
    }

    [Fact]
    public async Task TestPseudoRandomSend()
    {
        // A select with two send cases on one channel picks either: both values show up more than n/10 times.
        const int n = 100;
        foreach (int chanCap in new[] { 0, n })
        {
            var c = new Chan<int>(chanCap);
            var l = new int[n];
            var m = new Weft.Sync.Mutex();
            m.Lock();
            Go.Run(async () =>
            {
                for (int i = 0; i < n; i++)
                {
                    await Go.Yield();
                    l[i] = await c.ReceiveAsync();
                }
                m.Unlock();
            });
            await GoTask.Run(async () =>
            {
                var sel = new Select();
                sel.Send(c, 1);
                sel.Send(c, 0);
                for (int i = 0; i < n; i++) await sel.WaitAsync();
                await m.LockAsync(); // wait for the receiver
            }).Within();
            int n0 = l.Count(v => v == 0), n1 = l.Count(v => v == 1);
            Assert.True(n0 > n / 10 && n1 > n / 10, $"Want pseudorandom, got {n0} zeros and {n1} ones (chan cap {chanCap})");
        }
    }

    [Fact]
    public async Task TestMultiConsumer()
    {
        // 23 workers range over one channel (some yielding, to disturb the FIFO-ish order) and forward to another:
        // every value arrives once (count and sum).
        const int nwork = 23, niter = 271828;
        int[] pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
        var q = new Chan<int>(nwork * 3);
        var r = new Chan<int>(nwork * 3);
        var wg = new WaitGroup();
        for (int i = 0; i < nwork; i++)
        {
            wg.Add(1);
            int w = i;
            Go.Run(async () =>
            {
                await foreach (int v in q)
                {
                    if (pn[w % pn.Length] == v) await Go.Yield();
                    await r.SendAsync(v);
                }
                wg.Done();
            });
        }
        long expect = 0;
        Go.Run(async () =>
        {
            for (int i = 0; i < niter; i++)
            {
                int v = pn[i % pn.Length];
                expect += v;
                await q.SendAsync(v);
            }
            q.Close();
            await wg.WaitAsync();
            r.Close();
        });
        var (count, sum) = await GoTask.Run(async () =>
        {
            int count = 0;
            long sum = 0;
            await foreach (int v in r)
            {
                count++;
                sum += v;
            }
            return (count, sum);
        }).Within();
        Assert.True(count == niter && sum == expect, $"Expected sum {expect} (got {sum}) from {niter} iter (saw {count})");
    }

    /// <summary>Go's stackGrowthRecursive: recursion that uses some stack, briefly.</summary>
    private static int StackGrowthRecursive(int i)
    {
        Span<byte> pad = stackalloc byte[1024];
        pad[i] = (byte)i;
        return i == 0 ? pad[0] : StackGrowthRecursive(i - 1) + pad[i];
    }

    [Fact]
    public async Task TestShrinkStackDuringBlockedSend()
    {
        // Go shrinks a blocked sender's stack during GC. Weft's goroutines have no stacks to shrink (a parked one is
        // a heap state machine), so this checks what is left of it: a sender parked across full GCs, deep recursion
        // between its sends, still delivers every value in order.
        const int n = 10;
        var c = new Chan<int>();
        var done = new Chan<bool>();
        Go.Run(async () =>
        {
            for (int i = 0; i < n; i++)
            {
                await c.SendAsync(i);
                StackGrowthRecursive(20);
            }
            await done.SendAsync(true);
        });
        await GoTask.Run(async () =>
        {
            for (int i = 0; i < n; i++)
            {
                int x = await c.ReceiveAsync();
                Assert.True(x == i, $"bad channel read: want {i}, got {x}");
                await Go.Sleep(Millisecond); // the sender finishes its recursion and parks in its send
                GC.Collect();
            }
            await done.ReceiveAsync();
        }).Within();
    }

    [Fact]
    public async Task TestNoShrinkStackWhileParking()
    {
        // Go: a GC racing a goroutine that is parking must not shrink its stack. Weft has no stacks to shrink; the
        // port runs the same schedule (a sender that recurses between sends, a receiver that sleeps first, a full GC
        // in the middle) n*20 times and checks that every value arrives in order.
        const int n = 10;
        await GoTask.Run(async () =>
        {
            for (int round = 0; round < n * 20; round++)
            {
                var c = new Chan<int>();
                var done = new Chan<bool>();
                int bad = 0;
                Go.Run(async () =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        await Go.Sleep(TimeSpan.FromTicks(100)); // 10 µs: the sender parks fully first
                        if (await c.ReceiveAsync() != i) Interlocked.Increment(ref bad);
                    }
                    await done.SendAsync(true);
                });
                Go.Run(async () =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        await c.SendAsync(i);
                        StackGrowthRecursive(20);
                    }
                    await done.SendAsync(true);
                });
                await Go.Sleep(TimeSpan.FromTicks(500)); // 50 µs
                GC.Collect();
                await done.ReceiveAsync();
                await done.ReceiveAsync();
                Assert.True(bad == 0, $"round {round}: values out of order");
            }
        }).Within();
    }

    [Fact]
    public async Task TestSelectDuplicateChannel()
    {
        // A select may queue on one channel twice. A woken by d dequeues both its nodes from c; B, queued on c after
        // them, must still be the one c's next send wakes (a corrupted queue would wake A again, or nobody).
        var c = new Chan<int>();
        var d = new Chan<int>();
        var e = new Chan<int>();
        await GoTask.Run(async () =>
        {
            Go.Run(async () =>
            {
                var sel = new Select();
                sel.Receive(c);
                sel.Receive(c);
                sel.Receive(d);
                await sel.WaitAsync();
                await e.SendAsync(9);
            });
            await Go.Sleep(Millisecond); // A queues first on c
            var b = new Chan<int>(1);
            Go.Run(async () => await b.SendAsync(await c.ReceiveAsync()));
            await Go.Sleep(Millisecond); // B queues on c after A
            await d.SendAsync(7);        // wakes A, which dequeues itself from c
            await e.ReceiveAsync();
            await c.SendAsync(8);        // wakes B
            Assert.Equal(8, await b.ReceiveAsync());
        }).Within();
    }

    [Fact]
    public async Task TestSelectStackAdjust()
    {
        // Go: receive slots that point into a goroutine's stack are adjusted when a GC shrinks it. Weft has no such
        // pointers (a receive case owns its value slot), so this keeps the behaviour around it: two selects with
        // duplicated cases, parked across a full GC, are woken by close(d); the c cases they did not win stay untouched.
        var c = new Chan<Box>();
        var d = new Chan<Box>();
        var ready = new[] { new Chan<bool>(), new Chan<bool>() };
        var val = new Box(42);
        for (int g = 0; g < 2; g++)
        {
            bool dup = g == 1;
            var signal = ready[g];
            Go.Run(async () =>
            {
                StackGrowthRecursive(10);
                await signal.SendAsync(true);
                var sel = new Select();
                var cx = sel.Receive(c);
                sel.Receive(dup ? c : null);
                var fromD = sel.Receive(d);
                var fromD2 = sel.Receive(dup ? d : null);
                int k = await sel.WaitAsync();
                bool ok = (k == fromD.Index || k == fromD2.Index) && cx.Value is null && val.Value == 42;
                await signal.SendAsync(ok);
            });
        }
        await GoTask.Run(async () =>
        {
            await ready[0].ReceiveAsync();
            await ready[1].ReceiveAsync();
            await Go.Sleep(TimeSpan.FromMilliseconds(10)); // let both get into their select
            GC.Collect();
            d.Close();
            Assert.True(await ready[0].ReceiveAsync(), "select without duplicates: wrong case or value changed");
            Assert.True(await ready[1].ReceiveAsync(), "select with duplicates: wrong case or value changed");
        }).Within();
    }

    private sealed class Box(int value)
    {
        public int Value = value;
    }
}
