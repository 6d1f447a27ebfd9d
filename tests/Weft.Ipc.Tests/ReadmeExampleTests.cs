using System.Diagnostics;
using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// The README's processes example, run as written, so what a user copies works: the parent's side here, the child's
/// side as the peer role "readme-worker" (tests/Weft.Ipc.Peer/PipeRoles.cs), where the README starts "worker".
/// </summary>
public class ReadmeExampleTests
{
    [Fact]
    public async Task TheProcessesExample()
    {
        var printed = new List<long>();
        async Task Example(ProcessStartInfo worker)
        {
            var (process, toChild, results) = IpcChild.Start(worker, IpcCodec.Utf8(), IpcCodec.Unmanaged<long>());
            using var peer = PeerProcess.Adopt(process);
            using (toChild)
            using (results)
            {
                var local = new Chan<long>();

                var sel = new Select();
                var fromChild = sel.Receive(results.Channel);          // a pipe from another process
                var fromLocal = sel.Receive(local);                    // a channel in this one
                var timeout = sel.Timeout(TimeSpan.FromSeconds(5));
                await toChild.Channel.SendAsync("job 1");              // done once the kernel has the bytes
                if (await sel.WaitAsync() == fromChild.Index) printed.Add(fromChild.Value);
                Assert.NotEqual(fromChild.Index, fromLocal.Index);
                Assert.NotEqual(fromChild.Index, timeout.Index);

                toChild.Channel.Close();                               // the worker's loop ends after the drain
                var (_, ok) = await results.Channel.ReceiveOkAsync();
                Assert.False(ok);                                      // and its close frame closes our side
                Assert.Null(results.Error);
            }
        }
        await Example(PeerProcess.StartInfo("readme-worker")).Within();
        Assert.Equal(["job 1".Length], printed);
    }
}
