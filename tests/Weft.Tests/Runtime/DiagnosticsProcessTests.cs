using System.Diagnostics;
using Xunit;

namespace Weft.Tests.Runtime;

public class DiagnosticsProcessTests
{
    [Fact]
    public async Task SigQuitPrintsTheDumpAndTheProcessKeepsRunning()
    {
        var (psi, _) = ConfigAndFailureTests.HostStartInfo("sigquit");
        using var p = Process.Start(psi)!;
        try
        {
            var errTask = p.StandardError.ReadToEndAsync();
            string? line = await p.StandardOutput.ReadLineAsync().Within();
            Assert.Equal("ready", line);
            using (var kill = Process.Start("kill", ["-QUIT", p.Id.ToString()])) await kill.WaitForExitAsync().Within();
            await Task.Delay(300);
            Assert.False(p.HasExited, "SIGQUIT with the dump registered must not end the process");
            p.Kill();
            string err = await errTask.Within();
            Assert.Contains("goroutines:", err);
            Assert.Contains("waiting, sleep", err);
        }
        finally
        {
            if (!p.HasExited) p.Kill();
        }
    }

    [Fact]
    public async Task SchedTracePrintsPeriodicLines()
    {
        var (code, _, err) = await ConfigAndFailureTests.RunHost("schedtrace", ("WEFT_SCHEDTRACE", "20"));
        Assert.Equal(0, code);
        var lines = err.Split('\n').Where(l => l.StartsWith("SCHED ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        Assert.Matches(@"^SCHED \d+ms: procs=\d+ idleprocs=\d+ threads=\d+ spinning=\d+ idlethreads=\d+ globrunq=\d+ goroutines=\d+ runq=\[[\d ]+\]", lines[0]);
    }

    [Fact]
    public async Task BadSchedTraceVariableIsAClearError()
    {
        var (code, stdout, _) = await ConfigAndFailureTests.RunHost("maxprocs", ("WEFT_SCHEDTRACE", "often"));
        Assert.Equal(3, code);
        Assert.Contains("WEFT_SCHEDTRACE='often' is not valid", stdout);
    }
}
