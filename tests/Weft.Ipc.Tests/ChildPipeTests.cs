using System.Diagnostics;
using Weft.Tests;
using Weft.Tests.Channels;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// Pipes to a child process (IpcChild) across two real processes: the ends of a stream (clean close, crash, exit
/// without close), back-pressure, what only the child inherits, the child's errors for bad descriptors, and a
/// select over a local channel, a pipe from a child, a socket pair and a timer. The peer's roles are in
/// tests/Weft.Ipc.Peer/PipeRoles.cs.
/// </summary>
[Collection(ChildProcessCollection.Name)]
public sealed class ChildPipeTests
{
    private static (PeerProcess Peer, IpcReceiver<long> FromChild) StartReceiving(string role, params string[] args)
    {
        var (process, fromChild) = IpcChild.StartWithReceiver(PeerProcess.StartInfo(role, args), IpcCodec.Unmanaged<long>());
        return (PeerProcess.Adopt(process), fromChild);
    }

    /// <summary>Receives until ok = false, checking that the values are first, first + 1...; returns the value after the last.</summary>
    private static Task<long> DrainInOrder(ReceiveOnlyChan<long> channel, long first = 0) => Gor.Run(async () =>
    {
        long next = first;
        while (true)
        {
            var (v, ok) = await channel.ReceiveOkAsync();
            if (!ok) return next;
            Assert.Equal(next, v);
            next++;
        }
    });

    [Fact]
    public async Task A_child_killed_with_SIGKILL_mid_stream_gives_PeerLost_on_the_parents_channel_never_a_hang()
    {
        var (peer, fromChild) = StartReceiving("pipe-send-forever");
        using (peer)
        using (fromChild)
        {
            await peer.WaitReadyAsync();
            for (long i = 0; i < 1000; i++) Assert.Equal(i, await fromChild.Channel.ReceiveAsync().Within());
            peer.KillHard();
            await DrainInOrder(fromChild.Channel, first: 1000); // whatever was in the pipe, in order, then the end
            Assert.IsType<PeerLostException>(fromChild.Error);
            Assert.Equal((0, false), await fromChild.Channel.ReceiveOkAsync().Within());
        }
    }

    [Fact]
    public async Task A_child_that_closes_its_sender_and_exits_ends_the_stream_with_ok_false_and_no_error()
    {
        const int N = 20_000;
        var (peer, fromChild) = StartReceiving("pipe-send-count", N.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using (peer)
        using (fromChild)
        {
            Assert.Equal(N, await DrainInOrder(fromChild.Channel));
            Assert.Null(fromChild.Error);
            Assert.Equal(0, await peer.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task A_child_that_exits_without_closing_its_sender_is_a_lost_peer_after_its_values()
    {
        // Also proves the parent released its copy of the child's end: else EOF could never come and this would hang.
        var (peer, fromChild) = StartReceiving("pipe-send-then-exit", "100");
        using (peer)
        using (fromChild)
        {
            Assert.Equal(100, await DrainInOrder(fromChild.Channel));
            Assert.IsType<PeerLostException>(fromChild.Error);
            Assert.Equal(0, await peer.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task Children_started_at_once_inherit_only_their_own_ends()
    {
        // A "sleep" child that never exits on its own, started beside children that exit without a close frame: if
        // one of their write ends leaked into the sleeper (or into each other), their parent's receiver would never
        // see EOF and this would time out instead of reporting PeerLost.
        for (int round = 0; round < 4; round++)
        {
            using var start = new Barrier(3);
            PeerProcess? sleeper = null;
            IpcReceiver<long>? sleeperEnd = null;
            var others = new (PeerProcess Peer, IpcReceiver<long> FromChild)[2];
            var threads = new[]
            {
                new Thread(() => { start.SignalAndWait(); (sleeper, sleeperEnd) = StartReceiving("sleep"); }),
                new Thread(() => { start.SignalAndWait(); others[0] = StartReceiving("pipe-send-then-exit", "10"); }),
                new Thread(() => { start.SignalAndWait(); others[1] = StartReceiving("pipe-send-then-exit", "10"); }),
            };
            foreach (var t in threads) t.Start();
            foreach (var t in threads) Assert.True(t.Join(TestTimeout.Default));
            try
            {
                await sleeper!.WaitReadyAsync();
                foreach (var (peer, fromChild) in others)
                {
                    Assert.Equal(10, await DrainInOrder(fromChild.Channel));
                    Assert.IsType<PeerLostException>(fromChild.Error);
                }
                Assert.False(sleeperEnd!.Channel.TryReceive(out _)); // the sleeper's own pipe: open, empty
                Assert.False(sleeperEnd.Channel.IsClosed);
            }
            finally
            {
                foreach (var (peer, fromChild) in others)
                {
                    fromChild?.Dispose();
                    peer?.Dispose();
                }
                sleeperEnd?.Dispose();
                sleeper?.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_child_that_stops_reading_parks_the_writer_with_memory_bounded_by_the_pipe_then_gets_every_value()
    {
        const long Total = 50_000;
        var (process, toChild) = IpcChild.StartWithSender(PeerProcess.StartInfo("pipe-stall-then-drain"), IpcCodec.Unmanaged<long>());
        using var peer = PeerProcess.Adopt(process);
        using (toChild)
        {
            await peer.WaitReadyAsync();
            var tx = toChild.Channel;
            long sent = 0;
            while (tx.TrySend(sent)) sent++;
            // What the writer holds is the kernel's pipe buffer (64 KiB by default) plus its one-frame outbox: a frame of
            // a long is 13 bytes, the hello 24 at most. Nothing else queues anywhere.
            const long FrameBytes = 4 + 1 + sizeof(long);
            Assert.InRange(sent, 1, (65536 + 64) / FrameBytes + 1);
            var writer = Gor.Run(async () =>
            {
                for (long i = sent; i < Total; i++) await tx.SendAsync(i);
                tx.Close();
            });
            // The writer parks on the full pipe: while the child reads nothing, no send completes and nothing queues
            // in this process (the delay only gives a wrong implementation time to show itself).
            await Task.Delay(200);
            Assert.False(writer.IsCompleted);
            Assert.False(tx.TrySend(-1));
            peer.WriteLine("go");
            await writer;
            await peer.WaitForLineAsync(l => l.StartsWith("received", StringComparison.Ordinal));
            Assert.Contains($"received {Total}", peer.Lines);
            Assert.Equal(0, await peer.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task The_child_opening_a_missing_malformed_closed_or_wrong_descriptor_gets_an_error_naming_the_variable_and_value()
    {
        async Task<string> OpenWith(string which, string? value)
        {
            var psi = PeerProcess.StartInfo("pipe-open", which);
            psi.Environment.Remove(IpcChild.ToChildVariable);
            psi.Environment.Remove(IpcChild.FromChildVariable);
            if (value is not null) psi.Environment[which == "from-parent" ? IpcChild.ToChildVariable : IpcChild.FromChildVariable] = value;
            using var peer = PeerProcess.Adopt(Process.Start(psi)!);
            Assert.Equal(0, await peer.WaitForExitAsync());
            return Assert.Single(peer.Lines);
        }

        string missing = await OpenWith("from-parent", null);
        Assert.StartsWith("error InvalidOperationException: WEFT_IPC_TO_CHILD_FD is not set", missing);
        Assert.Contains("StartWithSender", missing);
        Assert.StartsWith("error InvalidOperationException: WEFT_IPC_FROM_CHILD_FD is not set", await OpenWith("to-parent", null));
        string malformed = await OpenWith("from-parent", "three");
        Assert.Contains("'three'", malformed);
        Assert.Contains("descriptor number", malformed);
        Assert.Contains("'-1'", await OpenWith("from-parent", "-1"));
        string closed = await OpenWith("from-parent", "987");
        Assert.Contains("WEFT_IPC_TO_CHILD_FD=987 names no open descriptor", closed);
        // The peer's stdout is the write end of a pipe (redirected): the right kind, the wrong direction.
        string wrongEnd = await OpenWith("from-parent", "1");
        Assert.Contains("WEFT_IPC_TO_CHILD_FD=1 is a pipe's write end; this open needs the read end", wrongEnd);
    }

    [Fact]
    public async Task A_child_can_open_its_end_once_and_the_variable_is_gone_from_its_environment_after()
    {
        var (process, toChild) = IpcChild.StartWithSender(PeerProcess.StartInfo("pipe-open", "from-parent", "twice"), IpcCodec.Unmanaged<int>());
        using var peer = PeerProcess.Adopt(process);
        using (toChild)
        {
            Assert.Equal(0, await peer.WaitForExitAsync());
            Assert.Equal("opened", peer.Lines[0]);
            Assert.Equal("error InvalidOperationException: WEFT_IPC_TO_CHILD_FD was opened already in this process: one descriptor can back only one endpoint.", peer.Lines[1]);
        }
    }

    [Fact]
    public void Start_leaves_the_callers_environment_as_it_was_and_refuses_shell_execute()
    {
        var psi = PeerProcess.StartInfo("pipe-send-count", "0");
        psi.Environment[IpcChild.FromChildVariable] = "keep-me";
        var (process, fromChild) = IpcChild.StartWithReceiver(psi, IpcCodec.Unmanaged<long>());
        using (PeerProcess.Adopt(process))
        using (fromChild)
        {
            Assert.Equal("keep-me", psi.Environment[IpcChild.FromChildVariable]);
            Assert.False(psi.Environment.ContainsKey(IpcChild.ToChildVariable));
        }
        var shell = new ProcessStartInfo("true") { UseShellExecute = true };
        var e = Assert.Throws<ArgumentException>(() => IpcChild.StartWithSender(shell, IpcCodec.Unmanaged<int>()));
        Assert.Equal("startInfo", e.ParamName);
        Assert.Contains("UseShellExecute", e.Message);
        Assert.Throws<ArgumentNullException>(() => IpcChild.StartWithSender<int>(null!, IpcCodec.Unmanaged<int>()));
        Assert.Throws<ArgumentNullException>(() => IpcChild.StartWithReceiver(psi, (IpcCodec<int>)null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcChild.Start(psi, IpcCodec.Unmanaged<int>(), IpcCodec.Unmanaged<int>(), maxFrameSize: 0));
    }

    [Fact]
    public void A_child_that_cannot_be_started_leaves_no_descriptor_open()
    {
        int before = Directory.GetFiles("/proc/self/fd").Length;
        var psi = new ProcessStartInfo("/nonexistent/weft-no-such-program") { UseShellExecute = false };
        for (int i = 0; i < 20; i++)
            Assert.Throws<System.ComponentModel.Win32Exception>(() => IpcChild.Start(psi, IpcCodec.Unmanaged<int>(), IpcCodec.Unmanaged<int>()));
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, before + 5); // 80 pipe ends would have leaked
        Assert.False(psi.Environment.ContainsKey(IpcChild.ToChildVariable));
    }
}

/// <summary>
/// Tests that start children through IpcChild and assert on the end of their streams run alone: a Process.Start
/// elsewhere in this process (another test class's peer) during a start's window may inherit the child's end
/// (IpcChild.cs says why), which would delay the EOF those tests wait for.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChildProcessCollection
{
    public const string Name = "child processes";
}
