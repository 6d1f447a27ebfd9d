using Weft.Runtime;
using Weft.Tests;
using Weft.Tests.Channels;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// The netpoller driven by the scheduler (Netpoll.cs, "Who polls"): the poller M, sysmon's poll, timers while an M
/// blocks in epoll_wait, and wake-ups under load. Runs alone: the tests look at every P and M of the process.
/// </summary>
[Collection(nameof(Alone))]
public class NetpollGoModeTests
{
    private static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeout.Default;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting until " + what + ". " + State());
            Thread.Sleep(1);
        }
    }

    /// <summary>The scheduler's side of the netpoller, for a failure message.</summary>
    private static string State() =>
        $"Poller M: {Scheduler.PollerM?.Number.ToString() ?? "none"}, timer M: {Scheduler.TimerM?.Number.ToString() ?? "none"}, "
        + $"someone blocks: {Netpoll.SomeoneBlocks}, armed: {Netpoll.HasWaiters}, idle Ps: {Volatile.Read(ref Scheduler.IdleCount)} of {Scheduler.AllP.Length}, "
        + $"polls {Netpoll.Polls}, parked on IPC: {Registry.Snapshot().Count(g => g.State == GoroutineState.Waiting && g.Reason == WaitReason.IpcRead)}";

    private static bool EveryPIdle => Volatile.Read(ref Scheduler.IdleCount) == Scheduler.AllP.Length;

    private static bool ParkedOnIpc(int count) =>
        Registry.Snapshot().FindAll(g => g.State == GoroutineState.Waiting && g.Reason == WaitReason.IpcRead).Count >= count;

    /// <summary>What a goroutine woken by readiness saw: its M and P, and who ran the descriptor's event.</summary>
    private sealed record Woken(Machine M, Processor? P, PollSource Source, Processor? DispatchP);

    /// <summary>A goroutine that waits for one byte on <paramref name="pipe"/> and reports where it woke up.</summary>
    private static Task<Woken> ReadOneByte(PipeFds pipe, PollDesc d)
    {
        var woken = new TaskCompletionSource<Woken>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            while (pipe.TryReadByte() < 0) await d.WaitAsync(write: false, CancellationToken.None);
            var m = Machine.Current!;
            woken.SetResult(new Woken(m, m.P, d.LastSource, d.LastP));
        });
        return woken.Task;
    }

    [Fact]
    public async Task Every_P_idle_the_poller_M_takes_the_edge_and_the_woken_goroutine_runs_on_its_P()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        try
        {
            var woken = ReadOneByte(pipe, d);
            WaitUntil(() => ParkedOnIpc(1) && Netpoll.SomeoneBlocks && EveryPIdle, "the reader parked and an idle M blocks in epoll_wait");
            var poller = Scheduler.PollerM;
            Assert.NotNull(poller);
            Assert.Equal(DeadlockDetector.Pending, DeadlockDetector.Candidate()); // the netpoller has a waiter: never a deadlock

            pipe.WriteByte(1);
            var w = await woken.Within();
            Assert.Equal(PollSource.PollerM, w.Source);
            Assert.NotNull(w.DispatchP); // the poller took a P before it ran the handlers...
            Assert.Same(w.DispatchP, w.P); // ...and the goroutine it readied ran on that P (its runnext), not via the global queue
            Assert.Same(poller, w.M);
        }
        finally
        {
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public async Task Every_P_busy_sysmon_polls_and_the_goroutine_still_wakes()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        int stop = 0;
        int spinners = 16 * Go.MaxProcs;
        var done = new CountdownEvent(spinners);
        Netpoll.SearchingPollsOff = true; // only sysmon and the poller M may poll; the test then shows which one did
        try
        {
            for (int i = 0; i < spinners; i++)
            {
                Go.Run(async () =>
                {
                    while (Volatile.Read(ref stop) == 0)
                    {
                        Thread.SpinWait(200);
                        await Go.Yield(); // a short step: sysmon never retakes the P, and the P never runs dry
                    }
                    done.Signal();
                });
            }
            WaitUntil(() => Volatile.Read(ref Scheduler.IdleCount) == 0, "every P is busy");
            var woken = ReadOneByte(pipe, d);
            WaitUntil(() => ParkedOnIpc(1) && Netpoll.HasWaiters, "the reader parked and armed");
            // An M that blocked in epoll_wait before the Ps filled up finds no idle P when it returns and parks on its
            // parker (Go's stopm); from then on no M polls while every P stays busy.
            WaitUntil(() =>
            {
                if (!Netpoll.SomeoneBlocks) return true;
                Netpoll.Interrupt();
                return false;
            }, "no M blocks in epoll_wait");

            pipe.WriteByte(1);
            var w = await woken.Within();
            Assert.Equal(PollSource.Sysmon, w.Source);
            Assert.Null(w.DispatchP); // sysmon has no P: what it readies goes to the global queue
        }
        finally
        {
            Netpoll.SearchingPollsOff = false;
            Volatile.Write(ref stop, 1);
            Assert.True(done.Wait(TestTimeout.Default), "the spinners stopped");
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public async Task A_timer_fires_while_the_poller_M_blocks_its_timeout_is_the_earliest_timer()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        var reader = ReadOneByte(pipe, d);
        try
        {
            WaitUntil(() => ParkedOnIpc(1) && Netpoll.SomeoneBlocks && EveryPIdle, "an idle M blocks in epoll_wait");
            var slept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () =>
            {
                await Go.Sleep(TimeSpan.FromMilliseconds(50));
                slept.SetResult();
            });
            // The sleep's timer becomes the earliest: the poller M is interrupted, and blocks again with the timer's
            // deadline as its timeout (it is the timer M); that timeout is what wakes the sleeper.
            WaitUntil(() => slept.Task.IsCompleted || (Scheduler.PollerM is { } m && Scheduler.TimerM == m), "the poller M waits for the timer");
            await slept.Task.Within();
            Assert.False(reader.IsCompleted);
        }
        finally
        {
            pipe.WriteByte(1);
            await reader.Within();
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public async Task An_earlier_timer_interrupts_the_poller_M_waiting_for_a_later_one()
    {
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        var reader = ReadOneByte(pipe, d);
        using var cts = new CancellationTokenSource();
        var longSleep = GoTask.Run(async () =>
        {
            try { await Go.Sleep(TimeSpan.FromMinutes(10), cts.Token); }
            catch (OperationCanceledException) { }
        });
        try
        {
            WaitUntil(() => ParkedOnIpc(1) && Scheduler.PollerM is { } m && Scheduler.TimerM == m && EveryPIdle,
                "the poller M blocks until the ten-minute timer");
            long polls = Netpoll.Polls;
            var slept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () =>
            {
                await Go.Sleep(TimeSpan.FromMilliseconds(20));
                slept.SetResult();
            });
            await slept.Task.Within(); // a poller left asleep until its old timeout would hang here
            Assert.True(Netpoll.Polls > polls);
        }
        finally
        {
            await cts.CancelAsync();
            await longSleep.Within();
            pipe.WriteByte(1);
            await reader.Within();
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public async Task A_storm_over_many_pipes_delivers_every_message_exactly_once_and_in_order()
    {
        const int Pipes = 24, Messages = 2_000;
        var pipes = new (IpcSender<long> Tx, IpcReceiver<long> Rx)[Pipes];
        for (int i = 0; i < Pipes; i++) pipes[i] = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        try
        {
            var tasks = new List<Task>();
            var received = new long[Pipes];
            for (int i = 0; i < Pipes; i++)
            {
                int k = i;
                var (tx, rx) = pipes[k];
                tasks.Add(Gor.Run(async () =>
                {
                    for (long v = 0; v < Messages; v++) await tx.Channel.SendAsync(((long)k << 32) | v);
                    tx.Channel.Close();
                }));
                tasks.Add(Gor.Run(async () =>
                {
                    long expected = 0;
                    await foreach (long v in rx.Channel)
                    {
                        if (v != (((long)k << 32) | expected)) Assert.Fail($"pipe {k}: expected message {expected}, got {v & 0xffffffff} from pipe {v >> 32}");
                        expected++;
                    }
                    received[k] = expected;
                }));
            }
            await Task.WhenAll(tasks).Within();
            for (int i = 0; i < Pipes; i++) Assert.Equal(Messages, received[i]);
        }
        finally
        {
            foreach (var (tx, rx) in pipes)
            {
                tx.Dispose();
                rx.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_thread_blocked_on_an_IPC_receive_outside_any_goroutine_is_woken()
    {
        var (tx, rx) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        using (tx)
        using (rx)
        {
            var got = Task.Factory.StartNew(() => rx.Channel.Receive(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            WaitUntil(() => Netpoll.HasWaiters, "the thread's receive armed the pipe");
            WaitUntil(() => Netpoll.SomeoneBlocks || Volatile.Read(ref Scheduler.IdleCount) < Scheduler.AllP.Length, "an M came to poll");
            await tx.Channel.SendAsync(5).AsTask().Within();
            Assert.Equal(5, await got.Within());
        }
    }

    [Fact]
    public async Task MaxProcs_changes_while_the_poller_M_blocks_and_the_waiter_still_wakes_once()
    {
        int before = Go.MaxProcs;
        using var pipe = new PipeFds();
        var d = Netpoll.Register(pipe.ReadEnd.Fd, handler: null);
        try
        {
            var woken = ReadOneByte(pipe, d);
            WaitUntil(() => ParkedOnIpc(1) && Netpoll.SomeoneBlocks, "an idle M blocks in epoll_wait");
            Go.MaxProcs = before + 2;
            Go.MaxProcs = 1;
            pipe.WriteByte(1);
            var w = await woken.Within();
            Assert.Contains(w.Source, new[] { PollSource.PollerM, PollSource.Searching, PollSource.Sysmon });
            Assert.Equal(-1, pipe.TryReadByte());
        }
        finally
        {
            Go.MaxProcs = before;
            Netpoll.Unregister(d);
        }
    }

    [Fact]
    public async Task Unregistering_the_descriptor_the_poller_M_waits_on_wakes_its_waiter_and_polling_goes_on()
    {
        using var first = new PipeFds();
        using var second = new PipeFds();
        var d1 = Netpoll.Register(first.ReadEnd.Fd, handler: null);
        var d2 = Netpoll.Register(second.ReadEnd.Fd, handler: null);
        try
        {
            ValueTask wait;
            do wait = d1.WaitAsync(write: false, CancellationToken.None); while (wait.IsCompleted && first.TryReadByte() == -1);
            var woken = ReadOneByte(second, d2);
            WaitUntil(() => ParkedOnIpc(1) && Netpoll.SomeoneBlocks, "an idle M blocks in epoll_wait");
            Netpoll.Unregister(d1);
            await wait.AsTask().Within(); // its owner looks again and finds it closed
            second.WriteByte(2);
            Assert.NotEqual(PollSource.Unregister, (await woken.Within()).Source); // the second descriptor's event, from a poll
        }
        finally
        {
            Netpoll.Unregister(d1);
            Netpoll.Unregister(d2);
        }
    }

    [Fact]
    public async Task A_goroutine_in_a_thread_blocking_IPC_receive_hands_its_P_off_and_is_still_woken()
    {
        // The receive arms its pipe on an M that holds a P (so the arm wakes nobody: that M would poll before it parks),
        // then blocks the M and hands the P off (Parker.Park, Go.Blocking's path) without passing through the idle
        // path. Every P is then idle: HandoffP starts a poller M, and sysmon keeps polling while nobody blocks in
        // epoll_wait, or the value would never come.
        var (tx, rx) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        using (tx)
        using (rx)
        {
            var got = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(() => got.SetResult(rx.Channel.Receive()));
            WaitUntil(() => Netpoll.HasWaiters && EveryPIdle, "the receive armed the pipe and gave its P up");
            Thread.Sleep(50); // not a timing assertion: long enough for sysmon to have fallen deeply asleep, were it allowed to
            await tx.Channel.SendAsync(7).AsTask().Within(); // the pipe has room: the send arms nothing
            Assert.Equal(7, await got.Task.Within());
        }
    }
}
