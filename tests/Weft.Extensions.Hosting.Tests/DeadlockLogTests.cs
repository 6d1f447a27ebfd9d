using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Weft.Tests;
using Xunit;

namespace Weft.Extensions.Hosting.Tests;

/// <summary>
/// A deadlock report goes to the Weft logger, not to standard error. Weft raises Go.DeadlockDetected only under
/// Go.Main with nothing else alive in the process (a running host always has other threads), so the event is raised
/// here the way Weft's detector raises it (its internal entry point), and what is asserted is the host's handling:
/// the level by mode, the report's text, and Handled (so Weft prints nothing itself).
/// </summary>
public class DeadlockLogTests
{
    [Theory]
    [InlineData(DeadlockDetection.Report, 8, LogLevel.Error)]
    [InlineData(DeadlockDetection.Fail, 4, LogLevel.Critical)]
    public async Task A_deadlock_report_goes_through_ILogger_and_is_marked_handled(DeadlockDetection mode, int eventId, LogLevel level)
    {
        using var restore = new RuntimeSettingsScope();
        var (builder, logs) = HostTestSupport.NewBuilder();
        builder.Services.AddWeft();
        using var host = builder.Build();
        await host.StartAsync().Within();

        var e = (DeadlockDetectedEventArgs)Activator.CreateInstance(typeof(DeadlockDetectedEventArgs),
            BindingFlags.Instance | BindingFlags.NonPublic, null,
            ["fatal error: all goroutines are asleep - deadlock!\ngoroutines: 3 live in 1 group\n", Array.Empty<GoroutineGroup>(), 3, mode], null)!;
        var raise = typeof(Go).GetMethod("OnDeadlockDetected", BindingFlags.Static | BindingFlags.NonPublic)!;
        bool handled = (bool)raise.Invoke(null, [e])!;

        Assert.True(handled);
        var entry = Assert.Single(logs.Entries, x => x.IsWeft && x.EventId == eventId);
        Assert.Equal(level, entry.Level);
        Assert.Contains("All 3 goroutines are asleep - deadlock!", entry.Message, StringComparison.Ordinal);
        Assert.Contains("goroutines: 3 live in 1 group", entry.Message, StringComparison.Ordinal);

        await host.StopAsync().Within();
        e.Handled = false;
        Assert.False((bool)raise.Invoke(null, [e])!); // unhooked once the host has stopped
    }
}
