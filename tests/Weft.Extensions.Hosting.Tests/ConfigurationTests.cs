using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Weft.Tests;
using Xunit;

namespace Weft.Extensions.Hosting.Tests;

/// <summary>AddWeft binds the Weft section, validates it when the host starts, and applies it to the runtime.</summary>
public class ConfigurationTests
{
    [Fact]
    public async Task The_Weft_section_is_bound_and_applied_when_the_host_starts()
    {
        using var restore = new RuntimeSettingsScope();
        int procs = Go.MaxProcs == 3 ? 2 : 3; // differs from what the process has, so applying it is observable
        var (builder, logs) = HostTestSupport.NewBuilder(
            ("Weft:MaxProcs", procs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Weft:BlockingThreshold", "00:00:00.025"),
            ("Weft:DeadlockDetection", "off"),
            ("Weft:UnhandledException", "Ignore"));
        builder.Services.AddWeft();
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<WeftOptions>>().Value;
        Assert.Equal(procs, options.MaxProcs);
        Assert.Equal(TimeSpan.FromMilliseconds(25), options.BlockingThreshold);
        Assert.Equal(DeadlockDetection.Off, options.DeadlockDetection);
        Assert.Equal(UnhandledGoroutineExceptionBehavior.Ignore, options.UnhandledException);

        await host.StartAsync().Within();
        Assert.Equal(procs, Go.MaxProcs);
        Assert.Equal(TimeSpan.FromMilliseconds(25), Go.BlockingThreshold);
        Assert.Equal(DeadlockDetection.Off, Go.DeadlockDetection);
        var configured = Assert.Single(logs.Entries, e => e.IsWeft && e.EventId == 1);
        Assert.Equal("Weft", configured.Category);
        Assert.Contains($"MaxProcs {procs}", configured.Message, StringComparison.Ordinal);
        await host.StopAsync().Within();
    }

    [Fact]
    public async Task Settings_left_out_of_the_section_keep_the_runtime_values_and_code_wins_over_configuration()
    {
        using var restore = new RuntimeSettingsScope();
        Go.BlockingThreshold = TimeSpan.FromMilliseconds(17);
        var (builder, _) = HostTestSupport.NewBuilder(("Weft:MaxProcs", "3"));
        builder.Services.AddWeft(o => o.MaxProcs = 2);
        builder.Services.AddWeft(); // a second call registers nothing twice
        using var host = builder.Build();
        await host.StartAsync().Within();
        Assert.Equal(2, Go.MaxProcs);
        Assert.Equal(TimeSpan.FromMilliseconds(17), Go.BlockingThreshold);
        Assert.Single(host.Services.GetServices<IHostedService>(), s => s.GetType().Name == "WeftHostedService");
        await host.StopAsync().Within();
    }

    [Fact]
    public async Task Bad_configuration_stops_the_host_before_anything_is_applied_and_names_every_problem()
    {
        using var restore = new RuntimeSettingsScope();
        int before = Go.MaxProcs;
        var (builder, _) = HostTestSupport.NewBuilder(
            ("Weft:MaxProcs", "0"),
            ("Weft:BlockingThreshold", "fast"),
            ("Weft:DeadlockDetection", "explode"),
            ("Weft:UnhandledException", "1"),
            ("Weft:MaxProc", "4"));
        builder.Services.AddWeft();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Within());
        Assert.Contains("Weft:MaxProcs=0 is not valid: expected a whole number of processors from 1 to 1024", error.Message, StringComparison.Ordinal);
        Assert.Contains("Weft:BlockingThreshold='fast' is not valid: expected a TimeSpan from 00:00:00.001 to 00:01:00", error.Message, StringComparison.Ordinal);
        Assert.Contains("Weft:DeadlockDetection='explode' is not valid: expected Off, Report or Fail", error.Message, StringComparison.Ordinal);
        Assert.Contains("Weft:UnhandledException='1' is not valid: expected StopHost or Ignore", error.Message, StringComparison.Ordinal);
        Assert.Contains("Weft:MaxProc is not a Weft setting: expected MaxProcs, BlockingThreshold, DeadlockDetection, UnhandledException", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Failures.Count());
        Assert.Equal(before, Go.MaxProcs);
    }

    [Fact]
    public async Task Out_of_range_values_set_in_code_are_rejected_the_same_way()
    {
        using var restore = new RuntimeSettingsScope();
        var (builder, _) = HostTestSupport.NewBuilder();
        builder.Services.AddWeft(o =>
        {
            o.MaxProcs = 5000;
            o.BlockingThreshold = TimeSpan.FromMinutes(2);
            o.DeadlockDetection = (DeadlockDetection)9;
        });
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Within());
        Assert.Contains("Weft:MaxProcs=5000 is not valid", error.Message, StringComparison.Ordinal);
        Assert.Contains("Weft:BlockingThreshold=00:02:00 is not valid", error.Message, StringComparison.Ordinal);
        Assert.Contains("Weft:DeadlockDetection=9 is not valid", error.Message, StringComparison.Ordinal);
    }
}
