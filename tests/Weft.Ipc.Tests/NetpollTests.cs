using Weft.Runtime;
using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

public class NetpollTests
{
    [Theory]
    [InlineData("0.48 1.93 1.58 3/345 12345\n", 3)]
    [InlineData("12.00 11.50 10.25 17/2048 99\n", 17)]
    [InlineData("0.00 0.00 0.00 1/80 7", 1)]
    [InlineData("", 0)]
    [InlineData("0.48 1.93 1.58", 0)]
    [InlineData("0.48 1.93 1.58 x/345 1", 0)]
    [InlineData("0.48 1.93 1.58 3", 0)] // cut short before the slash: not a count
    public void The_runnable_count_is_read_from_loadavgs_fourth_field_and_anything_else_reads_as_zero(string text, int expected) =>
        Assert.Equal(expected, Netpoll.RunnableOf(System.Text.Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void The_spin_window_grows_on_events_within_reach_shrinks_on_later_ones_and_closes_below_an_eighth()
    {
        const long Ceiling = 20_000, Reach = 4 * Ceiling;
        // An event within reach after a missed spin (the wait's own wake-up counts in the idle time): grow.
        Assert.Equal(Ceiling, Netpoll.NextSpinWindow(Ceiling / 2, Ceiling, idle: Ceiling));
        Assert.Equal(Ceiling, Netpoll.NextSpinWindow(Ceiling, Ceiling, idle: 1));
        Assert.Equal(Ceiling / 2, Netpoll.NextSpinWindow(Ceiling / 4, Ceiling, idle: Reach));
        Assert.Equal(Ceiling / 8, Netpoll.NextSpinWindow(0, Ceiling, idle: Reach)); // a closed window reopens at an eighth
        // A later event: the spin only cost CPU.
        Assert.Equal(Ceiling / 2, Netpoll.NextSpinWindow(Ceiling, Ceiling, idle: Reach + 1));
        Assert.Equal(Ceiling / 8, Netpoll.NextSpinWindow(Ceiling / 4, Ceiling, idle: long.MaxValue));
        Assert.Equal(0, Netpoll.NextSpinWindow(Ceiling / 8, Ceiling, idle: Reach * 10)); // below an eighth: closed
        Assert.Equal(0, Netpoll.NextSpinWindow(0, Ceiling, idle: Reach * 10)); // and stays closed while events are far apart
        // A run of far-apart events closes a full window in four steps; one near event reopens it.
        long w = Ceiling;
        for (int i = 0; i < 4; i++) w = Netpoll.NextSpinWindow(w, Ceiling, idle: Reach * 100);
        Assert.Equal(0, w);
        Assert.True(Netpoll.NextSpinWindow(w, Ceiling, idle: Ceiling / 3) > 0);
    }

    private sealed class Recorder : IPollHandler
    {
        public readonly SemaphoreSlim Readable = new(0), Writable = new(0);
        public int ReadCalls, WriteCalls;

        public void OnReadable()
        {
            Interlocked.Increment(ref ReadCalls);
            Readable.Release();
        }

        public void OnWritable()
        {
            Interlocked.Increment(ref WriteCalls);
            Writable.Release();
        }
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeout.Default;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting until " + what);
            Thread.Sleep(1);
        }
    }

    [Fact]
    public void An_armed_read_calls_the_handler_once_when_data_arrives()
    {
        using var pipe = new PipeFds();
        var h = new Recorder();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, h);
        try
        {
            Assert.Equal(-1, pipe.TryReadByte());
            if (!d.ArmRead()) Assert.Equal(-1, pipe.TryReadByte()); // a stale edge: retry, still empty
            while (!d.ArmRead()) Assert.Equal(-1, pipe.TryReadByte());
            Assert.True(Netpoll.HasWaiters);
            pipe.WriteByte(7);
            Assert.True(h.Readable.Wait(TestTimeout.Default), "the armed handler was not called");
            Assert.Equal(7, pipe.TryReadByte());
            Assert.Equal(1, Volatile.Read(ref h.ReadCalls));
        }
        finally
        {
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public void An_edge_before_the_arm_is_not_lost_the_arm_says_retry()
    {
        using var pipe = new PipeFds();
        var h = new Recorder();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, h);
        try
        {
            pipe.WriteByte(1);
            // Nothing is armed, so no M need poll: retrieve the edge with a poll of our own (an M or sysmon may take it
            // first; either way the state becomes Ready).
            WaitUntil(() => { Netpoll.PollNow(PollSource.Searching); return d.LooksReadable; }, "a poll saw the edge");
            Assert.False(d.ArmRead()); // readiness came since the last arm: the owner must read now
            Assert.Equal(1, pipe.TryReadByte());
            Assert.Equal(0, Volatile.Read(ref h.ReadCalls));
        }
        finally
        {
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public void Many_descriptors_each_get_exactly_one_call_per_armed_edge()
    {
        const int N = 64;
        var pipes = new PipeFds[N];
        var handlers = new Recorder[N];
        var descs = new PollDesc[N];
        for (int i = 0; i < N; i++)
        {
            pipes[i] = new PipeFds();
            handlers[i] = new Recorder();
            descs[i] = Netpoll.Register(pipes[i].ReadEnd.Fd, handlers[i]);
        }
        try
        {
            for (int i = 0; i < N; i++) while (!descs[i].ArmRead()) Assert.Equal(-1, pipes[i].TryReadByte());
            for (int i = 0; i < N; i++) pipes[i].WriteByte((byte)i);
            for (int i = 0; i < N; i++)
            {
                Assert.True(handlers[i].Readable.Wait(TestTimeout.Default), $"descriptor {i} was not reported");
                Assert.Equal(i, pipes[i].TryReadByte());
            }
            for (int i = 0; i < N; i++) Assert.Equal(1, Volatile.Read(ref handlers[i].ReadCalls));
        }
        finally
        {
            for (int i = 0; i < N; i++)
            {
                Netpoll.Unregister(descs[i]);
                pipes[i].Dispose();
            }
        }
    }

    [Fact]
    public void Unregister_fires_armed_directions_so_owners_look_again()
    {
        using var pipe = new PipeFds();
        var h = new Recorder();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, h);
        while (!d.ArmRead()) Assert.Equal(-1, pipe.TryReadByte());
        Netpoll.Unregister(d);
        Assert.True(h.Readable.Wait(TestTimeout.Default));
        Assert.False(d.IsRegistered);
        Netpoll.Unregister(d); // idempotent
        Assert.Equal(1, Volatile.Read(ref h.ReadCalls));
    }

    [Fact]
    public async Task A_goroutine_waits_for_readiness_under_its_own_wait_reason()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        var got = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var self = new TaskCompletionSource<Goroutine>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            self.SetResult(Goroutine.Current!);
            int b;
            while ((b = pipe.TryReadByte()) < 0) await d.WaitAsync(write: false, CancellationToken.None);
            got.SetResult(b);
        });
        try
        {
            // This goroutine, not the first one found with the reason: other test classes run goroutines that wait on
            // descriptors too, and a woken goroutine keeps its last reason. The state, the reason and the dump are read
            // in one pass, because a wait may end between two reads (WaitAsync may return without data).
            var g = await self.Task.Within();
            string dump = "";
            WaitUntil(() =>
            {
                if (g.State != GoroutineState.Waiting || g.Reason != WaitReason.IpcRead) return false;
                var sb = new System.Text.StringBuilder();
                g.DescribeTo(sb, Environment.TickCount64);
                dump = sb.ToString();
                return dump.Contains("[waiting", StringComparison.Ordinal);
            }, "the goroutine parked on the descriptor");
            Assert.Contains("IO wait (read)", dump, StringComparison.Ordinal);
            pipe.WriteByte(9);
            Assert.Equal(9, await got.Task.Within());
        }
        finally
        {
            Netpoll.Unregister(d);
        }
    }

    /// <summary>
    /// Regression: WaitAsync reset its waiter after the arm, so an edge that a poller M dispatched in between was
    /// erased and the wait hung (seen as a TCP connect or a FIFO open that never finished). The hook lands the edge in
    /// exactly that window and waits until the poller has completed the waiter.
    /// </summary>
    [Fact]
    public async Task An_edge_dispatched_between_the_arm_and_the_waits_start_still_completes_the_wait()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        int hooked = 0;
        PollDesc.AfterArmForTests = (desc, w) =>
        {
            if (desc != d || Interlocked.Exchange(ref hooked, 1) != 0) return;
            pipe.WriteByte(7);
            var deadline = DateTime.UtcNow + TestTimeout.Default;
            while (!w.IsCompletedForTests && DateTime.UtcNow < deadline) Thread.Sleep(1);
        };
        try
        {
            var got = await Weft.Tests.Channels.GoTask.Run(async () =>
            {
                int b;
                while ((b = pipe.TryReadByte()) < 0) await d.WaitAsync(write: false, CancellationToken.None);
                return b;
            }).Within();
            Assert.Equal(1, hooked);
            Assert.Equal(7, got);
        }
        finally
        {
            PollDesc.AfterArmForTests = null;
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public async Task A_cancelled_readiness_wait_gives_its_arm_back_and_the_next_wait_works()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        try
        {
            using var cts = new CancellationTokenSource();
            ValueTask wait;
            do wait = d.WaitAsync(write: false, cts.Token); while (wait.IsCompleted && pipe.TryReadByte() == -1);
            Assert.False(wait.IsCompleted);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.AsTask().Within());
            Assert.False(d.TryDisarm(write: false)); // the cancellation took the arm back

            ValueTask again;
            do again = d.WaitAsync(write: false, CancellationToken.None); while (again.IsCompleted && pipe.TryReadByte() == -1);
            pipe.WriteByte(3);
            await again.Within();
            Assert.Equal(3, pipe.TryReadByte());
        }
        finally
        {
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public void Two_waiters_on_one_direction_are_refused()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        try
        {
            ValueTask first;
            do first = d.WaitAsync(write: false, CancellationToken.None); while (first.IsCompleted);
            var e = Assert.Throws<InvalidOperationException>(() => d.WaitAsync(write: false, CancellationToken.None));
            Assert.Contains("one waiter per direction", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public void Interrupt_wakes_the_poller_M()
    {
        using var pipe = new PipeFds();
        var h = new Recorder();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, h);
        try
        {
            while (!d.ArmRead()) Assert.Equal(-1, pipe.TryReadByte()); // armed from a plain thread: an M comes to poll
            WaitUntil(() => Netpoll.SomeoneBlocks, "an M blocks in epoll_wait");
            long before = Netpoll.Polls;
            Netpoll.Interrupt();
            WaitUntil(() => Netpoll.Polls > before, "epoll_wait returned for the interrupt");
            Assert.Equal(0, Volatile.Read(ref h.ReadCalls)); // an interrupt is not an event
        }
        finally
        {
            Netpoll.Unregister(d);
        }
    }
}
