using System.Diagnostics;
using Xunit;

namespace Weft.Tests.Runtime;

public class DiagnosticsProcessTests
{
    [Fact]
    public async Task SigQuitPrintsTheDumpAndTheProcessKeepsRunning()
    {
        var (psi, _) = ConfigAndFailureTests.HostStartInfo("sigquit");
        // A child inherits an ignored SIGQUIT (a background job of a non-interactive shell ignores it, and so
        // does everything it starts), and .NET then leaves it ignored. Start the child with the default action.
        var args = psi.ArgumentList.ToList();
        psi.FileName = "env";
        psi.ArgumentList.Clear();
        psi.ArgumentList.Add("--default-signal=QUIT");
        psi.ArgumentList.Add("dotnet");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (err) err.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        try
        {
            string? line = await p.StandardOutput.ReadLineAsync().Within();
            Assert.Equal("ready", line);
            using (var kill = Process.Start("kill", ["-QUIT", p.Id.ToString()])) await kill.WaitForExitAsync().Within();
            await GoroutineTests.Eventually(() => { lock (err) return err.ToString().Contains("waiting, sleep"); });
            Assert.False(p.HasExited, "SIGQUIT with the dump registered must not end the process");
            lock (err) Assert.Contains("goroutines:", err.ToString());
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
