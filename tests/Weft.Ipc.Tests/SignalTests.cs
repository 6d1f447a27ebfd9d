using System.Diagnostics;
using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// IpcSignal: signals sent to this process arrive on notified channels. One class, so its tests run one at a time
/// (xunit runs a class's tests sequentially): they share the process's signal dispositions. Each waits for a
/// delivery before sending the next signal, because the kernel merges a standard signal that is already pending.
/// </summary>
public class SignalTests
{
    private static void Raise(int signal) => IpcSignal.Send(Environment.ProcessId, signal);

    private static bool StartedWithInterruptIgnored()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (IpcSignal.Interrupt - 1))) != 0;
    }

    [Fact]
    public async Task A_signal_reaches_goroutines_parked_on_the_channel()
    {
        var ch = new Chan<int>(1);
        IpcSignal.Notify(ch, IpcSignal.User1);
        try
        {
            var receivers = Enumerable.Range(0, 4).Select(_ => Gor.Run(async () => await ch.ReceiveAsync())).ToArray();
            for (int i = 0; i < receivers.Length; i++)
            {
                Raise(IpcSignal.User1);
                Assert.Equal(IpcSignal.User1, await Task.WhenAny(receivers).Unwrap().Within());
                receivers = receivers.Where(t => !t.IsCompleted).ToArray();
                Assert.Equal(3 - i, receivers.Length);
            }
        }
        finally
        {
            IpcSignal.Stop(ch);
        }
    }

    [Fact]
    public async Task A_full_channel_drops_the_delivery_without_blocking_and_every_notified_channel_gets_each_signal()
    {
        var small = new Chan<int>(1);
        var big = new Chan<int>(16);
        IpcSignal.Notify(small, IpcSignal.User2);
        IpcSignal.Notify(big, IpcSignal.User2, IpcSignal.User2); // twice: still one value per delivery
        IpcSignal.Notify(big, IpcSignal.User2);
        try
        {
            for (int i = 0; i < 4; i++)
            {
                Raise(IpcSignal.User2);
                // The handler sends to every channel before this receive can see its value, so a handler blocked on
                // the full small channel would never reach big: this wait would time out.
                Assert.Equal(IpcSignal.User2, await big.ReceiveAsync().Within());
                Assert.Equal(0, big.Len);
                Assert.Equal(1, small.Len);
            }
            Assert.True(small.TryReceive(out int first));
            Assert.Equal(IpcSignal.User2, first);
            Assert.False(small.TryReceive(out _));
        }
        finally
        {
            IpcSignal.Stop(small);
            IpcSignal.Stop(big);
        }
    }

    [Fact]
    public async Task Stop_ends_delivery_to_that_channel_only_and_a_closed_channel_drops_quietly()
    {
        var stopped = new Chan<int>(4);
        var closed = new Chan<int>(4);
        var live = new Chan<int>(4);
        IpcSignal.Notify(stopped, IpcSignal.User1);
        IpcSignal.Notify(closed, IpcSignal.User1);
        IpcSignal.Notify(live, IpcSignal.User1, IpcSignal.User2);
        try
        {
            Raise(IpcSignal.User1);
            Assert.Equal(IpcSignal.User1, await live.ReceiveAsync().Within());
            Assert.Equal(1, stopped.Len);

            IpcSignal.Stop(stopped);
            IpcSignal.Stop(new Chan<int>(1)); // never notified: nothing happens
            closed.Close();
            Raise(IpcSignal.User1);
            Assert.Equal(IpcSignal.User1, await live.ReceiveAsync().Within());
            Assert.Equal(1, stopped.Len); // only the delivery before Stop

            Raise(IpcSignal.User2); // one channel, two signals: each arrives as its own number
            Assert.Equal(IpcSignal.User2, await live.ReceiveAsync().Within());
            Assert.Equal(0, live.Len);
        }
        finally
        {
            IpcSignal.Stop(stopped);
            IpcSignal.Stop(closed);
            IpcSignal.Stop(live);
        }
    }

    [Fact]
    public async Task A_notified_interrupt_does_not_terminate_the_process()
    {
        var ch = new Chan<int>(1);
        if (StartedWithInterruptIgnored())
        {
            // A background job of a shell script starts with SIGINT ignored, and .NET then installs no handler for
            // it: Notify must say so at once rather than leave the receiver waiting for a signal that never comes.
            var ex = Assert.Throws<InvalidOperationException>(() => IpcSignal.Notify(ch, IpcSignal.Interrupt));
            Assert.Contains("SIGINT (2) is ignored", ex.Message);
            return;
        }
        IpcSignal.Notify(ch, IpcSignal.Interrupt);
        try
        {
            Raise(IpcSignal.Interrupt);
            // Reaching the assertion at all is the test: without context.Cancel the runtime would end this process.
            Assert.Equal(IpcSignal.Interrupt, await ch.ReceiveAsync().Within());
        }
        finally
        {
            IpcSignal.Stop(ch);
        }
    }

    [Fact]
    public async Task A_notified_sigchld_arrives_and_the_runtime_still_reaps_its_children()
    {
        var ch = new Chan<int>(8);
        IpcSignal.Notify(ch, IpcSignal.Child);
        try
        {
            using var child = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            // WaitForExit returns only once .NET's SIGCHLD handling reaped the child. (This runtime reaps whatever
            // the handler's Cancel says, so the test pins that notifying SIGCHLD breaks nothing, not the Cancel choice.)
            TestTimeout.Blocking(child.WaitForExit);
            Assert.Equal(0, child.ExitCode);
            Assert.Equal(IpcSignal.Child, await ch.ReceiveAsync().Within());
        }
        finally
        {
            IpcSignal.Stop(ch);
        }
    }

    [Fact]
    public void Send_to_a_process_goes_through_its_pidfd_and_a_process_that_exited_is_refused()
    {
        using var child = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        IpcSignal.Send(child, IpcSignal.Terminate);
        TestTimeout.Blocking(child.WaitForExit);
        Assert.Equal(128 + IpcSignal.Terminate, child.ExitCode); // .NET reports "killed by signal N" as 128 + N

        var e = Assert.Throws<InvalidOperationException>(() => IpcSignal.Send(child, IpcSignal.Terminate));
        Assert.Contains($"Process {child.Id} has exited", e.Message, StringComparison.Ordinal);

        using var neverStarted = new Process();
        Assert.Throws<InvalidOperationException>(() => IpcSignal.Send(neverStarted, IpcSignal.Terminate));
    }

    [Fact]
    public void Bad_arguments_get_errors_that_say_what_is_allowed()
    {
        var ch = new Chan<int>(1);
        Assert.Contains("nil channel", Assert.Throws<ArgumentException>(() => IpcSignal.Notify(default, IpcSignal.User1)).Message, StringComparison.Ordinal);
        Assert.Contains("at least one signal", Assert.Throws<ArgumentException>(() => IpcSignal.Notify(ch)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => IpcSignal.Notify(ch, null!));
        foreach (int bad in new[] { 0, -1, 65 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => IpcSignal.Notify(ch, IpcSignal.User1, bad));
            Assert.Contains("from 1 to 64", e.Message, StringComparison.Ordinal);
        }
        Assert.Contains("SIGKILL (9) cannot be caught", Assert.Throws<ArgumentException>(() => IpcSignal.Notify(ch, IpcSignal.Kill)).Message, StringComparison.Ordinal);
        Assert.Contains("SIGSTOP (19)", Assert.Throws<ArgumentException>(() => IpcSignal.Notify(ch, 19)).Message, StringComparison.Ordinal);
        Assert.Contains("fault", Assert.Throws<ArgumentException>(() => IpcSignal.Notify(ch, 11)).Message, StringComparison.Ordinal);
        Assert.Contains("glibc", Assert.Throws<ArgumentException>(() => IpcSignal.Notify(ch, 32)).Message, StringComparison.Ordinal);
        Assert.Contains("nil channel", Assert.Throws<ArgumentException>(() => IpcSignal.Stop(default)).Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentNullException>(() => IpcSignal.Send(null!, IpcSignal.Terminate));
        Assert.Contains("process groups", Assert.Throws<ArgumentOutOfRangeException>(() => IpcSignal.Send(0, IpcSignal.Terminate)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcSignal.Send(-1, IpcSignal.Terminate));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcSignal.Send(Environment.ProcessId, 0));
        // Above the kernel's largest pid_max (2^22): no such process.
        var gone = Assert.Throws<IpcException>(() => IpcSignal.Send(4_194_305, IpcSignal.Terminate));
        Assert.Equal(3, gone.Errno);
        Assert.StartsWith("kill(4194305, 15) failed", gone.Message, StringComparison.Ordinal);
    }
}
