using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Weft.Diagnostics;
using Weft.Tests;
using Xunit;

namespace Weft.Extensions.Hosting.Tests;

public class MeterTests
{
    [Fact]
    public async Task The_documented_OpenTelemetry_line_exports_the_Weft_meter()
    {
        using var restore = new RuntimeSettingsScope();
        var exported = new List<Metric>();
        var (builder, _) = HostTestSupport.NewBuilder();
        builder.Services.AddWeft();
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(WeftMeter.Name) // the README's line
            .AddInMemoryExporter(exported));
        using var host = builder.Build();
        await host.StartAsync().Within();

        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(() => ran.SetResult());
        await ran.Task.Within();
        Assert.True(host.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));

        var created = Assert.Single(exported, m => m.Name == "weft.goroutines.created");
        Assert.Equal(WeftMeter.Name, created.MeterName);
        long total = 0;
        foreach (ref readonly var point in created.GetMetricPoints()) total += point.GetSumLong();
        Assert.True(total >= 1, $"weft.goroutines.created exported {total}");
        Assert.Contains(exported, m => m.Name == "weft.scheduler.procs");
        await host.StopAsync().Within();
    }
}
