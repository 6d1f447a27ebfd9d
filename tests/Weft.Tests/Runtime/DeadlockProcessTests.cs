using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>The whole-program deadlock detector and Go.Main, in child processes.</summary>
public class DeadlockProcessTests
{
    /// <summary>Issue 15's false alarms: programs whose goroutines wait for code that is not a goroutine.</summary>
    public static TheoryData<string, string> FalseAlarms => new()
    {
        { "fa-delay", "done: sum=12" },                     // the producer awaits Task.Delay(300) between sends
        { "fa-thread", "done: got=42" },                    // a plain Thread sleeps 1.5 s, then sends
        { "fa-taskrun", "done: got=1" },                    // Task.Run(async () => { await Task.Delay(1500); await c.SendAsync(1); })
        { "fa-mutex", "done: count=3" },                    // a plain thread holds a Weft Mutex for 1.5 s
        { "fa-http", "done: order1,order2,order3" },        // an HTTP server's handlers feed a channel
        { "fa-poolthread", "done: got=7" },                 // a plain thread started from a pool thread (named like one)
        { "fa-longrunning", "done: got=8" },                // a LongRunning task's dedicated thread
    };

    [Theory]
    [MemberData(nameof(FalseAlarms))]
    public async Task OutsideGoMainALiveProgramIsNeverReported(string scenario, string expected)
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost(scenario, ("WEFT_DEADLOCK", "fail"));
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains(expected, stdout);
        Assert.DoesNotContain("deadlock", stderr);
    }

    [Theory]
    [MemberData(nameof(FalseAlarms))]
    public async Task UnderGoMainALiveProgramIsNeverReported(string scenario, string expected)
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost(scenario + "@main", ("WEFT_DEADLOCK", "fail"));
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains(expected, stdout);
        Assert.DoesNotContain("deadlock", stderr);
    }

    [Fact]
    public async Task ARealDeadlockUnderGoMainExitsWithCode2AndGosMessage()
    {
        // Default mode (WEFT_DEADLOCK unset) under Go.Main is Go's: fatal error, exit code 2.
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost("gomain-deadlock");
        Assert.Equal(2, code);
        Assert.DoesNotContain("returned", stdout);
        Assert.StartsWith("fatal error: all goroutines are asleep - deadlock!", stderr);
        // 10,000 goroutines parked at one line, plus main: one line each, not one per goroutine.
        var groups = stderr.Split('\n').Where(l => l.Contains(" @ ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, groups.Count);
        Assert.StartsWith("10000 @ waiting, chan receive", groups[0]);
        Assert.StartsWith("1 @ waiting, wait group", groups[1]);
        Assert.True(stderr.Split('\n').Length < 12, stderr);
    }

    [Fact]
    public async Task TheDeadlockEventCanTakeTheReportInsteadOfStandardError()
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost("gomain-deadlock-event");
        Assert.Equal(2, code);
        Assert.Contains("handled: all goroutines are asleep - deadlock! goroutines=1 groups=1 mode=Fail", stdout);
        Assert.Contains("group: 1 @ waiting, chan receive", stdout);
        Assert.DoesNotContain("deadlock", stderr);
    }

    [Fact]
    public async Task ReportModePrintsOnceAndKeepsRunning()
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost("gomain-deadlock-report", ("WEFT_DEADLOCK", "report"));
        Assert.Equal(0, code);
        Assert.Contains("recovered", stdout);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(stderr, "weft: all goroutines are asleep - deadlock!"));
        Assert.Contains("1 @ waiting, chan receive", stderr);
    }

    [Fact]
    public async Task OffModeUnderGoMainDoesNotEndTheProgram()
    {
        // The same program as the report mode's: with detection off, nothing is printed and nothing rescues it,
        // so it is still running when the test gives up on it.
        var (psi, _) = ConfigAndFailureTests.HostStartInfo("gomain-deadlock-report", ("WEFT_DEADLOCK", "off"));
        using var p = System.Diagnostics.Process.Start(psi)!;
        var errTask = p.StandardError.ReadToEndAsync();
        bool exited = p.WaitForExit(TimeSpan.FromSeconds(2));
        if (!exited) p.Kill(entireProcessTree: true);
        Assert.False(exited);
        Assert.DoesNotContain("deadlock", await errTask.Within());
    }

    [Fact]
    public async Task PendingForeignIoAndTimersAreNotADeadlock()
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost("nodeadlock", ("WEFT_DEADLOCK", "fail"));
        Assert.Equal(0, code);
        Assert.Contains("done", stdout);
        Assert.DoesNotContain("deadlock", stderr);
    }

    [Fact]
    public async Task MainReturningEndsTheProgramWithItsExitCodeWhileGoroutinesRun()
    {
        var (code, stdout, _) = await ConfigAndFailureTests.RunHost("gomain-exit");
        Assert.Equal(7, code);
        Assert.Contains("main returns", stdout);
    }

    [Fact]
    public async Task AnExceptionEscapingMainLeavesGoMainWithItsOriginalStackTrace()
    {
        var (code, _, stderr) = await ConfigAndFailureTests.RunHost("gomain-throw");
        Assert.NotEqual(0, code);
        Assert.Contains("System.InvalidOperationException: boom from main", stderr);
        Assert.Contains("at ThrowFromMain.Throw()", stderr);
    }

    [Fact]
    public async Task RunMainReturnsMainsResult()
    {
        var (code, _, _) = await ConfigAndFailureTests.RunHost("gomain-async");
        Assert.Equal(5, code);
    }

    [Fact]
    public async Task GoMainRunsOncePerProcess()
    {
        var (code, stdout, _) = await ConfigAndFailureTests.RunHost("gomain-twice");
        Assert.Equal(3, code);
        Assert.Contains("Go.Main or Go.RunMain was already called", stdout);
    }

    [Fact]
    public async Task BadDeadlockVariableIsAClearError()
    {
        var (code, stdout, _) = await ConfigAndFailureTests.RunHost("maxprocs", ("WEFT_DEADLOCK", "maybe"));
        Assert.Equal(3, code);
        Assert.Contains("WEFT_DEADLOCK='maybe' is not valid: expected off, report or fail", stdout);
    }
}
