using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>The whole-program deadlock detector, in child processes.</summary>
public class DeadlockProcessTests
{
    [Fact]
    public async Task AllGoroutinesAsleepFailsTheProcessWithADump()
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost("deadlock", ("WEFT_DEADLOCK", "fail"));
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("returned", stdout);
        Assert.Contains("all goroutines are asleep - deadlock!", stderr);
        Assert.Contains("waiting, chan receive", stderr);
        Assert.Contains("DeadlockDetectedException", stderr);
    }

    [Fact]
    public async Task ByDefaultADeadlockIsReportedAndTheProgramKeepsRunning()
    {
        var (code, stdout, stderr) = await ConfigAndFailureTests.RunHost("deadlock-report");
        Assert.Equal(0, code);
        Assert.Contains("recovered", stdout);
        Assert.Contains("weft: all goroutines are asleep - deadlock!", stderr);
        Assert.Contains("waiting, chan receive", stderr);
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
    public async Task BadDeadlockVariableIsAClearError()
    {
        var (code, stdout, _) = await ConfigAndFailureTests.RunHost("maxprocs", ("WEFT_DEADLOCK", "maybe"));
        Assert.Equal(3, code);
        Assert.Contains("WEFT_DEADLOCK='maybe' is not valid: expected off, report or fail", stdout);
    }
}
