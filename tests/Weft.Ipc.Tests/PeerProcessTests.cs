using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>The cross-process harness itself: a role runs, talks, exits, and dies on SIGKILL.</summary>
public sealed class PeerProcessTests
{
    [Fact]
    public async Task EchoRole_ReturnsEachLineInOrder_AndExitsZeroOnEof()
    {
        using var peer = PeerProcess.Start("echo-lines");
        await peer.WaitReadyAsync();
        for (int i = 0; i < 20; i++)
        {
            peer.WriteLine("line " + i);
            await peer.WaitForLineAsync(l => l == "line " + i);
        }
        peer.Process.StandardInput.Close();
        Assert.Equal(0, await peer.WaitForExitAsync());
        Assert.Equal(["ready", .. Enumerable.Range(0, 20).Select(i => "line " + i)], peer.Lines);
    }

    [Fact]
    public async Task UnknownRole_ExitsTwo_NamingTheRoleAndTheKnownOnes()
    {
        using var peer = PeerProcess.Start("no-such-role");
        Assert.Equal(2, await peer.WaitForExitAsync());
        Assert.Contains("unknown role 'no-such-role'", peer.Stderr);
        Assert.Contains("echo-lines", peer.Stderr);
    }

    [Fact]
    public async Task KillHard_EndsThePeerWithSigkill()
    {
        using var peer = PeerProcess.Start("sleep");
        await peer.WaitReadyAsync();
        peer.KillHard();
        Assert.True(peer.Process.HasExited);
        Assert.Equal(128 + 9, peer.Process.ExitCode);
    }
}
