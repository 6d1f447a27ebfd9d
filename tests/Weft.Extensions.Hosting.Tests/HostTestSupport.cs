using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Weft.Extensions.Hosting.Tests;

internal static class HostTestSupport
{
    /// <summary>A real HostApplicationBuilder (default sources) with <paramref name="settings"/> on top and every log entry collected.</summary>
    public static (HostApplicationBuilder Builder, LogCollector Logs) NewBuilder(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        var logs = new LogCollector();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        return (builder, logs);
    }
}

/// <summary>Restores Weft's process-wide settings, which a host under test changes.</summary>
internal sealed class RuntimeSettingsScope : IDisposable
{
    private readonly int _maxProcs = Go.MaxProcs;
    private readonly TimeSpan _threshold = Go.BlockingThreshold;
    private readonly DeadlockDetection _deadlock = Go.DeadlockDetection;

    public void Dispose()
    {
        Go.MaxProcs = _maxProcs;
        Go.BlockingThreshold = _threshold;
        Go.DeadlockDetection = _deadlock;
        Environment.ExitCode = 0;
    }
}
