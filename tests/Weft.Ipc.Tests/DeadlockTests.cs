using Weft.Runtime;
using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

[CollectionDefinition(nameof(Alone), DisableParallelization = true)]
public sealed class Alone;

/// <summary>Runs alone: the detector's candidate looks at every goroutine and processor of the process.</summary>
[Collection(nameof(Alone))]
public class DeadlockTests
{
    [Fact]
    public async Task A_goroutine_parked_on_an_IPC_receive_is_never_a_deadlock_candidate()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<int>());
        using (sender)
        using (receiver)
        {
            var got = Gor.Run(async () => await receiver.Channel.ReceiveAsync());
            long candidate = DeadlockDetector.Busy;
            var deadline = DateTime.UtcNow + TestTimeout.Default;
            // The receiver parks, then arms its pipe just after (outside the channel lock); the detector's second look,
            // 100 ms later, covers that window. Look once both have happened.
            while ((candidate == DeadlockDetector.Busy || !Netpoll.HasWaiters) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(5);
                candidate = DeadlockDetector.Candidate();
            }
            Assert.True(Netpoll.HasWaiters, "the parked receive armed its pipe");
            Assert.Equal(DeadlockDetector.Pending, candidate); // asleep on a Weft channel, but the peer is outside
            await sender.Channel.SendAsync(4).Within();
            Assert.Equal(4, await got);
        }
    }
}
