using System.Diagnostics;
using Weft.Runtime;
using Xunit;

namespace Weft.Tests.Runtime;

public class ConfigAndFailureTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("5000")]
    public void BadMaxProcsVariableIsAClearError(string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => RuntimeConfig.ParseMaxProcs(value));
        Assert.Contains("WEFT_MAXPROCS", ex.Message);
        Assert.Contains($"'{value}'", ex.Message);
        Assert.Contains("from 1 to 1024", ex.Message);
    }

    [Fact]
    public void GoodMaxProcsVariableIsUsed()
    {
        Assert.Equal(3, RuntimeConfig.ParseMaxProcs("3"));
        Assert.Equal(Environment.ProcessorCount, RuntimeConfig.ParseMaxProcs(null));
    }

    [Theory]
    [InlineData("WEFT_STACKSIZE", "12")]
    [InlineData("WEFT_STACKSIZE", "2x")]
    [InlineData("WEFT_STACKSIZE", "4g")]
    [InlineData("WEFT_BLOCKING_THRESHOLD_MS", "0")]
    [InlineData("WEFT_BLOCKING_THRESHOLD_MS", "soon")]
    [InlineData("WEFT_NETPOLL_SPIN_US", "-1")]
    [InlineData("WEFT_NETPOLL_SPIN_US", "1001")]
    [InlineData("WEFT_NETPOLL_SPIN_US", "2.5")]
    [InlineData("WEFT_NETPOLL_SPIN_US", "")]
    public void OtherBadVariablesAreClearErrors(string name, string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => RuntimeConfig.FromEnvironment(n => n == name ? value : null));
        Assert.Contains(name, ex.Message);
        Assert.Contains($"'{value}'", ex.Message);
    }

    [Fact]
    public void NetpollSpinIsWholeMicrosecondsFromZeroToAThousand()
    {
        Assert.Equal(TimeSpan.FromMicroseconds(20), RuntimeConfig.ParseNetpollSpin(null));
        Assert.Equal(TimeSpan.Zero, RuntimeConfig.ParseNetpollSpin("0"));
        Assert.Equal(TimeSpan.FromMicroseconds(1000), RuntimeConfig.ParseNetpollSpin(" 1000 "));
        var ex = Assert.Throws<InvalidOperationException>(() => RuntimeConfig.ParseNetpollSpin("50ms"));
        Assert.Contains("from 0 (no spin) to 1000", ex.Message);
    }

    [Fact]
    public void StackSizeAcceptsSuffixes()
    {
        Assert.Equal(32 * 1024 * 1024, RuntimeConfig.ParseStackSize("32m"));
        Assert.Equal(512 * 1024, RuntimeConfig.ParseStackSize("512k"));
        Assert.Equal(16 * 1024 * 1024, RuntimeConfig.ParseStackSize(null));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1025)]
    public void SettingMaxProcsOutOfRangeThrows(int n)
    {
        int before = Go.MaxProcs;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Go.MaxProcs = n);
        Assert.Contains("from 1 to 1024", ex.Message);
        Assert.Equal(before, Go.MaxProcs);
    }

    [Fact]
    public void OtherSettingsRejectBadValues()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Go.BlockingThreshold = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => Go.StackSize = 1024);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("abc")]
    public async Task BadMaxProcsVariableFailsTheFirstGoRunInAChildProcess(string value)
    {
        var (code, stdout, _) = await RunHost("maxprocs", ("WEFT_MAXPROCS", value));
        Assert.Equal(3, code);
        Assert.Contains($"WEFT_MAXPROCS='{value}' is not valid", stdout);
    }

    [Fact]
    public async Task MaxProcsVariableIsHonouredInAChildProcess()
    {
        var (code, stdout, _) = await RunHost("maxprocs", ("WEFT_MAXPROCS", "3"));
        Assert.Equal(0, code);
        Assert.Contains("maxprocs=3", stdout);
    }

    [Fact]
    public async Task AnUnhandledGoroutineExceptionEndsTheProcessWithADump()
    {
        var (code, stdout, stderr) = await RunHost("unhandled");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("still alive", stdout);
        Assert.Contains("weft: unhandled exception in goroutine", stderr);
        Assert.Contains("boom from a goroutine", stderr);
        Assert.Contains("goroutines:", stderr);
        Assert.Contains("waiting, sleep", stderr);
        Assert.Contains("Program.cs:", stderr);
    }

    [Fact]
    public async Task AHandlerObservesUnhandledExceptionsAndTheProcessKeepsRunning()
    {
        var seen = new TaskCompletionSource<GoroutineExceptionEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        EventHandler<GoroutineExceptionEventArgs> handler = (_, e) =>
        {
            if (e.Exception.Message.StartsWith("observed", StringComparison.Ordinal)) seen.TrySetResult(e);
        };
        Go.UnhandledException += handler;
        try
        {
            Go.Run(async () =>
            {
                await Task.Yield();
                throw new InvalidOperationException("observed async");
            });
            var e = await seen.Task.Within();
            Assert.IsType<InvalidOperationException>(e.Exception);
            Assert.Contains(nameof(ConfigAndFailureTests) + ".cs:", e.StartedAt);

            var seenSync = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            EventHandler<GoroutineExceptionEventArgs> h2 = (_, e2) => { if (e2.Exception.Message == "observed sync") seenSync.TrySetResult(); };
            Go.UnhandledException += h2;
            Go.Run(() => throw new FormatException("observed sync"));
            await seenSync.Task.Within();
            Go.UnhandledException -= h2;

            // The scheduler still runs goroutines afterwards.
            var after = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(() => after.SetResult());
            await after.Task.Within();
        }
        finally
        {
            Go.UnhandledException -= handler;
        }
    }

    internal static (ProcessStartInfo psi, string host) HostStartInfo(string scenario, params (string name, string value)[] env)
    {
        // tests/Weft.Tests/bin/<Configuration>/net10.0/ -> tests/Weft.TestHost/bin/<Configuration>/net10.0/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = baseDir.Name, configuration = baseDir.Parent!.Name;
        string host = Path.Combine(baseDir.Parent!.Parent!.Parent!.Parent!.FullName, "Weft.TestHost", "bin", configuration, tfm, "Weft.TestHost.dll");
        Assert.True(File.Exists(host), $"test host not built at {host}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(host);
        psi.ArgumentList.Add(scenario);
        foreach (var name in new[] { "WEFT_MAXPROCS", "WEFT_SCHEDTRACE", "WEFT_STACKSIZE", "WEFT_BLOCKING_THRESHOLD_MS", "WEFT_DEADLOCK" }) psi.Environment.Remove(name);
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        foreach (var (n, v) in env) psi.Environment[n] = v;
        return (psi, host);
    }

    internal static async Task<(int code, string stdout, string stderr)> RunHost(string scenario, params (string name, string value)[] env)
    {
        var (psi, _) = HostStartInfo(scenario, env);
        using var p = Process.Start(psi)!;
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException("child process hung"); }
        return (p.ExitCode, await outTask, await errTask);
    }
}
