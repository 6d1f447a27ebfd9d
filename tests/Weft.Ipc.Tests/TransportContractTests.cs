using Weft.Tests;
using Weft.Tests.Channels;

namespace Weft.Ipc.Tests;

// The channel contract (tests/Weft.Tests/Channels/ChanContractTests.cs, compiled into this project too) over every
// IPC transport: each flavour's Tx is a sender endpoint's channel and its Rx the receiver endpoint's channel of one
// stream, so every rule is checked with the values really crossing the kernel. The last flavour crosses a process.

/// <summary>An anonymous pipe, both ends in this process.</summary>
public sealed class PipeContractTests : ChanContractTests
{
    protected override Ends Make()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        return new Ends(Own(sender).Channel.Channel!, Own(receiver).Channel.Channel!);
    }
}

/// <summary>A Unix socket pair: one direction of it (the other is the same code, IpcSocketPair).</summary>
public sealed class SocketPairContractTests : ChanContractTests
{
    protected override Ends Make()
    {
        var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged<int>());
        return new Ends(Own(a).Sender.Channel.Channel!, Own(b).Receiver.Channel.Channel!);
    }
}

/// <summary>A FIFO in a private directory, both ends in this process.</summary>
public sealed class FifoContractTests : ChanContractTests
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("weft-fifo-contract-");
    private int _next;

    protected override Ends Make()
    {
        if (_next == 0) Own(new Cleanup(() => _dir.Delete(recursive: true)));
        string path = Path.Combine(_dir.FullName, $"c{_next++}.fifo");
        var opening = GoTask.Run(async () => await IpcFifo.OpenSenderAsync(path, IpcCodec.Unmanaged<int>()));
        var receiver = Own(GoTask.Run(async () => await IpcFifo.OpenReceiverAsync(path, IpcCodec.Unmanaged<int>())).Within().GetAwaiter().GetResult());
        var sender = Own(opening.Within().GetAwaiter().GetResult());
        return new Ends(sender.Channel.Channel!, receiver.Channel.Channel!);
    }
}

/// <summary>A POSIX message queue of the largest capacity the system allows (msg_max), both ends in this process.</summary>
public sealed class MessageQueueContractTests : ChanContractTests
{
    protected override Ends Make()
    {
        string name = $"/weft-contract-{Environment.ProcessId}-{Guid.NewGuid():N}";
        int capacity = int.Parse(File.ReadAllText("/proc/sys/fs/mqueue/msg_max").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var receiver = Own(IpcMessageQueue.CreateReceiver(name, IpcCodec.Unmanaged<int>(), capacity, maxMessageSize: sizeof(int)));
        var sender = Own(IpcMessageQueue.OpenSender(name, IpcCodec.Unmanaged<int>()));
        return new Ends(sender.Channel.Channel!, receiver.Channel.Channel!);
    }
}

/// <summary>
/// Across a process: Tx is a pipe to a child (IpcChild.Start), which forwards every value into a second pipe back
/// to this process, Rx (the peer role "pipe-relay"). Sends and receives both happen here, and every value crosses
/// the child: two pipes, two processes' goroutines. The child closes its pipe back when this side's close frame
/// reaches it, so a close on Tx reaches Rx after the values before it, as the contract says.
/// </summary>
/// <remarks>
/// The relay drains Tx on its own, so a full Tx is not full for good until the relay itself is stuck on a full Rx:
/// <see cref="Fill"/> asks it (a line on its stdin) and fills again once it says so. Nothing else differs.
/// </remarks>
[Xunit.Collection(ChildProcessCollection.Name)]
public sealed class ChildPipeContractTests : ChanContractTests
{
    private readonly Dictionary<Chan<int>, PeerProcess> _relays = [];
    private int _question;

    protected override Ends Make()
    {
        var (process, toChild, fromChild) = IpcChild.Start(PeerProcess.StartInfo("pipe-relay"), IpcCodec.Unmanaged<int>(), IpcCodec.Unmanaged<int>());
        var peer = Own(PeerProcess.Adopt(process)); // disposed last: kills the child if a test left it running
        Own(toChild);
        Own(fromChild);
        peer.WaitReadyAsync().GetAwaiter().GetResult();
        var tx = toChild.Channel.Channel!;
        lock (_relays) _relays[tx] = peer;
        return new Ends(tx, fromChild.Channel.Channel!);
    }

    protected override int Fill(Ends ends, int value)
    {
        PeerProcess peer;
        lock (_relays) peer = _relays[ends.Tx];
        int n = 0;
        while (true)
        {
            while (ends.Tx.TrySend(value)) n++;
            // Nothing here receives on Rx during a fill, so once the relay is parked sending into Rx it stays parked,
            // and what it took from Tx meanwhile is refilled by the last pass.
            int q = Interlocked.Increment(ref _question);
            peer.WriteLine("blocked? " + q);
            string answer = peer.WaitForLineAsync(l => l == "blocked " + q || l == "running " + q).GetAwaiter().GetResult();
            if (answer.StartsWith("blocked", StringComparison.Ordinal))
            {
                while (ends.Tx.TrySend(value)) n++;
                return n;
            }
            Thread.Sleep(1);
        }
    }
}

/// <summary>Runs an action on Dispose (a test's clean-up registered with Own).</summary>
internal sealed class Cleanup(Action action) : IDisposable
{
    public void Dispose() => action();
}
