using System.Runtime.CompilerServices;
using Weft.Runtime;
using Weft.Testing;
using Xunit;

namespace Weft.Tests.Channels;

public sealed class TimerTests
{
    /// <summary>The channel behind a timer channel, whichever type the API hands out.</summary>
    private static Chan<DateTime> Raw(object c) => c as Chan<DateTime> ?? ((ReceiveOnlyChan<DateTime>)c).Channel!;

    [Fact]
    public async Task After_delivers_one_value()
    {
        var c = Go.After(TimeSpan.FromMilliseconds(5));
        var (t, ok) = await c.ReceiveOkAsync().Within();
        Assert.True(ok);
        Assert.Equal(DateTimeKind.Utc, t.Kind);
        Assert.Equal(0, c.Len);
        Assert.Equal(0, c.Capacity);
        Assert.False(c.TryReceive(out _));
    }

    [Fact]
    public void A_timer_channel_is_receive_only()
    {
        // Typed so that a send or a close does not compile: every way to get a timer channel hands out a ReceiveOnlyChan,
        // and that type has no sending or closing member and no conversion back to a channel that has one.
        Assert.Equal(typeof(ReceiveOnlyChan<DateTime>), typeof(Timer).GetProperty(nameof(Timer.C))!.PropertyType);
        Assert.Equal(typeof(ReceiveOnlyChan<DateTime>), typeof(Ticker).GetProperty(nameof(Ticker.C))!.PropertyType);
        Assert.Equal(typeof(ReceiveOnlyChan<DateTime>), typeof(Go).GetMethod(nameof(Go.After))!.ReturnType);
        Assert.Equal(typeof(ReceiveOnlyChan<DateTime>), typeof(Go).GetMethod(nameof(Go.Tick))!.ReturnType);
        Assert.DoesNotContain(typeof(ReceiveOnlyChan<DateTime>).GetMethods(), m => m.Name is "Send" or "SendAsync" or "TrySend" or "Close" or "AsChannelWriter");
        Assert.DoesNotContain(typeof(ReceiveOnlyChan<DateTime>).GetMethods(), m => m.Name is "op_Implicit" or "op_Explicit" && m.ReturnType != typeof(ReceiveOnlyChan<DateTime>));
        // The run-time guard stays for the one internal way back to the channel (a timeout case's Channel).
        var t = Go.NewTimer(TimeSpan.FromHours(1));
        Assert.Throws<InvalidOperationException>(() => Raw(t.C).TrySend(DateTime.UtcNow));
        Assert.Throws<InvalidOperationException>(Raw(t.C).Close);
        Assert.Throws<InvalidOperationException>(() => new Select().Send(Raw(t.C), DateTime.UtcNow));
        t.Stop();
    }

    [Fact]
    public async Task Stop_before_firing_means_no_value_is_ever_received()
    {
        await Bubble.Run(async () =>
        {
            var t = Go.NewTimer(TimeSpan.FromMilliseconds(20));
            Assert.True(t.Stop());
            Assert.False(t.Stop());
            await Go.Sleep(TimeSpan.FromMilliseconds(60));
            Assert.False(t.C.TryReceive(out _));
        }).Within();
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
        // Virtual time: no tick can arrive while the goroutine runs, so the invariant is exact.
        await Bubble.Run(async () =>
        {
            var tick = Go.NewTicker(TimeSpan.FromMilliseconds(2));
            await Go.Sleep(TimeSpan.FromMilliseconds(61)); // 30 periods without receiving
            Assert.True(tick.C.TryReceive(out var kept));
            Assert.Equal((Bubble.Epoch + TimeSpan.FromMilliseconds(2)).UtcDateTime, kept); // the first tick was kept...
            Assert.False(tick.C.TryReceive(out _));                                        // ...and the other 29 dropped
            var next = await tick.C.ReceiveAsync();                                         // it keeps ticking, on its period
            Assert.Equal((Bubble.Epoch + TimeSpan.FromMilliseconds(62)).UtcDateTime, next);
            tick.Stop();
            await Go.Sleep(TimeSpan.FromMilliseconds(10));
            Assert.False(tick.C.TryReceive(out _));
        }).Within();
    }

    // ---- Bug 3: huge durations saturate; negative ones are zero --------------------------------------------------

    [Fact]
    public async Task Huge_durations_never_fire_and_their_deadlines_saturate()
    {
        await Bubble.Run(async b =>
        {
            var after = Go.After(TimeSpan.MaxValue);
            var timer = Go.NewTimer(TimeSpan.MaxValue);
            var ticker = Go.NewTicker(TimeSpan.MaxValue);
            var reset = Go.NewTimer(TimeSpan.Zero);
            reset.Reset(TimeSpan.MaxValue);
            bool ran = false;
            var func = Go.AfterFunc(TimeSpan.MaxValue, () => ran = true);
            bool slept = false;
            Go.Run(async () => { await Go.Sleep(TimeSpan.MaxValue); slept = true; });
            await b.WaitIdleAsync();
            Assert.Equal(6, b.Core.Timers.Count); // the sleeper's entry included
            Assert.Equal(Clock.FarFuture, b.Core.Timers.NextWhen); // every deadline saturated, none wrapped round

            // A select timeout of MaxValue loses to a value that comes two centuries later.
            var c = new Chan<int>();
            Go.Run(async () => { await Go.Sleep(TimeSpan.FromDays(365 * 200)); await c.SendAsync(1); });
            var sel = new Select();
            var timeout = sel.Timeout(TimeSpan.MaxValue);
            var got = sel.Receive(c);
            Assert.Equal(got.Index, await sel.WaitAsync());

            Assert.False(after.TryReceive(out _));
            Assert.False(timer.C.TryReceive(out _));
            Assert.False(ticker.C.TryReceive(out _));
            Assert.False(reset.C.TryReceive(out _));
            Assert.False(ran);
            Assert.False(slept);
            Assert.True(timer.Stop());
            Assert.True(reset.Stop());
            Assert.True(func.Stop());
            ticker.Stop();
            GC.KeepAlive(after);
        }).Within();
    }

    [Fact]
    public async Task Negative_durations_are_zero_as_in_Go()
    {
        await Bubble.Run(async b =>
        {
            Assert.True(Go.Sleep(TimeSpan.FromMilliseconds(-5)).IsCompletedSuccessfully);
            Assert.True(Go.Sleep(TimeSpan.MinValue).IsCompletedSuccessfully);
            await Go.After(TimeSpan.FromSeconds(-1)).ReceiveAsync();
            await Go.After(TimeSpan.MinValue).ReceiveAsync();
            await Go.NewTimer(TimeSpan.MinValue).C.ReceiveAsync();
            var t = Go.NewTimer(TimeSpan.FromHours(1));
            Assert.True(t.Reset(TimeSpan.FromTicks(-1)));
            await t.C.ReceiveAsync();
            var ran = new Chan<int>(1);
            Go.AfterFunc(TimeSpan.MinValue, () => ran.TrySend(1));
            await ran.ReceiveAsync();
            Assert.Equal(Bubble.Epoch, b.Now); // none of it waited
        }).Within();
    }

    // ---- Bug 4: unreferenced timers are collected ------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference[] DropTimers(int n)
    {
        var refs = new WeakReference[n * 4];
        for (int i = 0; i < n; i++)
        {
            refs[4 * i] = new WeakReference(Raw(Go.After(TimeSpan.FromHours(1))));
            var t = Go.NewTimer(TimeSpan.FromHours(1));
            refs[4 * i + 1] = new WeakReference(Raw(t.C));
            var k = Go.NewTicker(TimeSpan.FromHours(1));
            refs[4 * i + 2] = new WeakReference(Raw(k.C));
            refs[4 * i + 3] = new WeakReference(Raw(Go.Tick(TimeSpan.FromHours(1))));
        }
        return refs;
    }

    private static void FullCollect()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers(); // the timer heaps purge after each gen-2 collection
        }
    }

    [Fact]
    public async Task Dropped_timers_tickers_and_After_channels_are_collected_and_leave_the_heap()
    {
        await Bubble.Run(async b =>
        {
            var kept = Go.NewTimer(TimeSpan.FromHours(2)); // referenced: must survive and fire
            var refs = DropTimers(10_000);
            Assert.True(b.Core.Timers.Count >= 1); // the heap may have purged some already, when it filled up
            FullCollect();
            Assert.Equal(0, refs.Count(r => r.IsAlive));
            Assert.True(b.Core.Timers.Count <= 1, $"{b.Core.Timers.Count} timers left in the heap");
            await Go.Sleep(TimeSpan.FromHours(3));
            Assert.True(kept.C.TryReceive(out _));
        }).Within();
    }

    [Fact]
    public async Task A_select_loop_with_a_new_After_each_time_stays_bounded()
    {
        static int Pending() => Scheduler.AllP.Sum(p => p.Timers.Count);
        var ready = new Chan<int>(1);
        FullCollect();
        long bytesBefore = GC.GetTotalMemory(forceFullCollection: true);
        int pendingBefore = Pending();
        for (int i = 0; i < 1_000_000; i++)
        {
            ready.TrySend(i);
            var sel = new Select();
            var timeout = sel.Receive(Go.After(TimeSpan.FromMinutes(1)));
            var value = sel.Receive(ready);
            Assert.Equal(value.Index, sel.Wait());
        }
        FullCollect();
        long grown = GC.GetTotalMemory(forceFullCollection: true) - bytesBefore;
        int pendingGrown = Pending() - pendingBefore;
        // Unfixed, every iteration's timer stays until its minute is up: a million entries and hundreds of megabytes.
        Assert.True(pendingGrown < 10_000, $"{pendingGrown} timers still pending");
        Assert.True(grown < 32L << 20, $"the heap grew by {grown} bytes");
        await Task.CompletedTask;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartUnrootedWaiters(TaskCompletionSource<int> done)
    {
        // Plain async methods outside any goroutine whose Tasks nobody holds: only the timer can reach them.
        _ = Receive(done);
        _ = SelectReceive(done);

        static async Task Receive(TaskCompletionSource<int> done)
        {
            await Go.After(TimeSpan.FromMilliseconds(300)).ReceiveAsync();
            Count(done);
        }

        static async Task SelectReceive(TaskCompletionSource<int> done)
        {
            var sel = new Select();
            sel.Receive(Go.After(TimeSpan.FromMilliseconds(300)));
            await sel.WaitAsync();
            Count(done);
        }
    }

    private static int s_woken;

    private static void Count(TaskCompletionSource<int> done)
    {
        if (Interlocked.Increment(ref s_woken) == 2) done.SetResult(2);
    }

    [Fact]
    public async Task A_receiver_parked_on_a_dropped_timer_channel_is_still_woken()
    {
        s_woken = 0;
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        StartUnrootedWaiters(done);
        for (int i = 0; i < 5; i++) FullCollect(); // collections and purges while they wait
        Assert.Equal(2, await done.Task.Within());
    }

    [Fact]
    public async Task Ticks_resets_and_sleeps_allocate_nothing_in_steady_state()
    {
        // In a bubble everything runs on the bubble's one thread, so that thread's allocation counter sees the
        // timer heap, the firing and the goroutine's park and wake-up, and nothing else.
        long allocated = -1;
        await Bubble.Run(async () =>
        {
            var tick = Go.NewTicker(TimeSpan.FromMilliseconds(1));
            var timer = Go.NewTimer(TimeSpan.FromMilliseconds(1));
            long before = 0;
            for (int i = 0; i < 11_000; i++)
            {
                if (i == 1000) before = GC.GetAllocatedBytesForCurrentThread(); // after a warm-up
                await tick.C.ReceiveAsync();
                await timer.C.ReceiveAsync();
                timer.Reset(TimeSpan.FromMilliseconds(1));
                await Go.Sleep(TimeSpan.FromMilliseconds(1));
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            tick.Stop();
            timer.Stop();
        }).Within();
        Assert.True(allocated < 10_000, $"{allocated} bytes for 10,000 rounds");
    }

    // ---- Go.AfterFunc and Go.Tick ----------------------------------------------------------------------------------

    [Fact]
    public async Task AfterFunc_runs_the_function_once_in_its_own_goroutine_after_the_delay()
    {
        await Bubble.Run(async b =>
        {
            var ran = new Chan<DateTimeOffset>(2);
            var handoff = new Chan<int>();
            // The first function blocks until the second runs: inline on the timer's thread, they would deadlock.
            var first = Go.AfterFunc(TimeSpan.FromSeconds(1), async () => { await handoff.ReceiveAsync(); ran.TrySend(b.Now); });
            var second = Go.AfterFunc(TimeSpan.FromSeconds(2), async () => await handoff.SendAsync(1));
            Assert.True(first.C.IsNil); // Go's Timer.C is nil for AfterFunc
            Assert.Equal(Bubble.Epoch + TimeSpan.FromSeconds(2), await ran.ReceiveAsync());
            await Go.Sleep(TimeSpan.FromSeconds(10));
            Assert.False(ran.TryReceive(out _)); // once
            Assert.False(first.Stop());          // already started
            Assert.False(second.Reset(TimeSpan.FromSeconds(1))); // not active: it had run; the reset arms it again
            Go.Run(async () => await handoff.ReceiveAsync());
            await Go.Sleep(TimeSpan.FromSeconds(2));
        }).Within();
    }

    [Fact]
    public async Task AfterFunc_Stop_and_Reset_report_whether_they_kept_the_call_from_starting()
    {
        await Bubble.Run(async b =>
        {
            int calls = 0;
            var t = Go.AfterFunc(TimeSpan.FromSeconds(1), () => calls++);
            Assert.True(t.Stop());   // prevented the call
            Assert.False(t.Stop());  // nothing left to prevent
            await Go.Sleep(TimeSpan.FromSeconds(5));
            Assert.Equal(0, calls);

            Assert.False(t.Reset(TimeSpan.FromSeconds(1))); // was stopped: not active
            Assert.True(t.Reset(TimeSpan.FromSeconds(3)));  // was pending: active, and now due 3 s from here
            await Go.Sleep(TimeSpan.FromSeconds(2));
            Assert.Equal(0, calls);
            await Go.Sleep(TimeSpan.FromSeconds(2));
            Assert.Equal(1, calls);
            Assert.False(t.Stop());
        }).Within();
    }

    [Fact]
    public void AfterFunc_rejects_a_null_function()
    {
        Assert.Equal("f", Assert.Throws<ArgumentNullException>(() => Go.AfterFunc(TimeSpan.Zero, (Action)null!)).ParamName);
        Assert.Equal("f", Assert.Throws<ArgumentNullException>(() => Go.AfterFunc(TimeSpan.Zero, (Func<Task>)null!)).ParamName);
    }

    [Fact]
    public async Task Tick_delivers_ticks_and_a_non_positive_period_gives_the_nil_channel()
    {
        // Go's time.Tick returns nil for d <= 0; here that is the default ReceiveOnlyChan, Go's nil channel.
        Assert.True(Go.Tick(TimeSpan.Zero).IsNil);
        Assert.True(Go.Tick(TimeSpan.FromSeconds(-1)).IsNil);
        Assert.Throws<ArgumentOutOfRangeException>(() => Go.NewTicker(TimeSpan.Zero));
        await Bubble.Run(async () =>
        {
            var nil = new Select();
            nil.Receive(Go.Tick(TimeSpan.Zero)); // never ready as a case
            var none = nil.Default();
            Assert.Equal(none, await nil.WaitAsync());

            var tick = Go.Tick(TimeSpan.FromSeconds(1));
            for (int i = 1; i <= 3; i++)
                Assert.Equal((Bubble.Epoch + TimeSpan.FromSeconds(i)).UtcDateTime, await tick.ReceiveAsync());
        }).Within();
    }
}
