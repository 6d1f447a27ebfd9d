using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// A goroutine parked on an IPC endpoint's channel waits for another process: its dump line says IO wait, as Go's
/// does for a goroutine blocked on a descriptor, while one parked on a local channel still says chan receive.
/// </summary>
public class WaitReasonTests
{
    private static string LineOf(string site)
    {
        foreach (var line in Go.Dump().Split('\n'))
            if (line.Contains(site, StringComparison.Ordinal) && line.Contains("[waiting", StringComparison.Ordinal)) return line;
        return "";
    }

    private static async Task<string> ParkedLine(string site)
    {
        var deadline = DateTime.UtcNow + TestTimeout.Default;
        string line;
        while ((line = LineOf(site)).Length == 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no parked goroutine from {site}.\n{Go.Dump()}");
            await Task.Delay(5);
        }
        return line;
    }

    [Fact]
    public async Task AGoroutineParkedOnAPipeReceive_ShowsIOWaitRead_AndOneOnALocalChannel_ChanReceive()
    {
        var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
        using (sender)
        using (receiver)
        {
            string ipcSite = "waitreason-ipc-" + Guid.NewGuid().ToString("N");
            string localSite = "waitreason-local-" + Guid.NewGuid().ToString("N");
            var local = new Chan<long>();
            var got = new Chan<long>(2);
            Go.Run(async () => await got.SendAsync(await receiver.Channel.ReceiveAsync()), ipcSite);
            Go.Run(async () => await got.SendAsync(await local.ReceiveAsync()), localSite);
            Assert.Contains("IO wait (read)", await ParkedLine(ipcSite));
            Assert.Contains("chan receive", await ParkedLine(localSite));
            await sender.Channel.SendAsync(7).AsTask().Within();
            await local.SendAsync(8).AsTask().Within();
            long sum = await got.ReceiveAsync().AsTask().Within() + await got.ReceiveAsync().AsTask().Within();
            Assert.Equal(15, sum);
        }
    }
}
