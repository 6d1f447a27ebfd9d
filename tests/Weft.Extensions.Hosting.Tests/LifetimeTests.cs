using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Weft.Sync;
using Weft.Tests;
using Xunit;

namespace Weft.Extensions.Hosting.Tests;

/// <summary>Unhandled goroutine exceptions go through ILogger; graceful shutdown waits for registered groups.</summary>
public class LifetimeTests
{
    [Fact]
    public async Task An_unhandled_goroutine_exception_is_logged_and_stops_the_host_with_a_failure_exit_code()
    {
        using var restore = new RuntimeSettingsScope();
        var (builder, logs) = HostTestSupport.NewBuilder();
        builder.Services.AddWeft();
        using var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());
        await host.StartAsync().Within();

        Go.Run(async () =>
        {
            await Go.Yield();
            throw new InvalidOperationException("boom in a hosted goroutine");
        });

        var entry = await logs.WaitFor(e => e.IsWeft && e.EventId == 2).Within();
        await stopping.Task.Within();
        Assert.Equal(LogLevel.Critical, entry.Level);
        Assert.Equal("Weft", entry.Category);
        Assert.Equal("boom in a hosted goroutine", Assert.IsType<InvalidOperationException>(entry.Exception).Message);
        Assert.Contains(nameof(LifetimeTests) + ".cs:", entry.Message, StringComparison.Ordinal);
        Assert.Equal(1, Environment.ExitCode);
        await host.StopAsync().Within();
    }

    [Fact]
    public async Task With_Ignore_an_unhandled_goroutine_exception_is_logged_and_the_host_keeps_running()
    {
        using var restore = new RuntimeSettingsScope();
        var (builder, logs) = HostTestSupport.NewBuilder(("Weft:UnhandledException", "Ignore"));
        builder.Services.AddWeft();
        using var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        await host.StartAsync().Within();

        // Subscribed after the host's handler, so it runs once that one has returned.
        var afterHost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        EventHandler<GoroutineExceptionEventArgs> after = (_, e) => { if (e.Exception.Message == "ignored") afterHost.TrySetResult(); };
        Go.UnhandledException += after;
        try
        {
            Go.Run(() => throw new FormatException("ignored"));
            await afterHost.Task.Within();
        }
        finally
        {
            Go.UnhandledException -= after;
        }

        var entry = Assert.Single(logs.Entries, e => e.IsWeft && e.EventId == 3);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.IsType<FormatException>(entry.Exception);
        Assert.False(lifetime.ApplicationStopping.IsCancellationRequested);
        Assert.Equal(0, Environment.ExitCode);
        await host.StopAsync().Within();
    }

    /// <summary>Goroutines that finish their work only after the host has started stopping.</summary>
    public sealed class Workers
    {
        private int _finished;

        public WaitGroup Group { get; } = new();
        public int Finished => Volatile.Read(ref _finished);

        public Workers(IHostApplicationLifetime lifetime)
        {
            for (int i = 0; i < 4; i++)
            {
                Group.Go(async () =>
                {
                    var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    using (lifetime.ApplicationStopping.Register(() => stopping.TrySetResult()))
                        await stopping.Task;
                    await Go.Sleep(TimeSpan.FromMilliseconds(200)); // the last of the work, after the stop signal
                    Interlocked.Increment(ref _finished);
                });
            }
        }
    }

    [Fact]
    public async Task Shutdown_waits_for_a_registered_WaitGroup_and_a_run_time_ErrGroup_and_logs_the_groups_error()
    {
        using var restore = new RuntimeSettingsScope();
        var (builder, logs) = HostTestSupport.NewBuilder();
        builder.Services.AddSingleton<Workers>();
        builder.Services.AddWeft().WaitOnShutdown("workers", sp => sp.GetRequiredService<Workers>().Group);
        using var host = builder.Build();
        var workers = host.Services.GetRequiredService<Workers>();
        await host.StartAsync().Within();

        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var errGroup = new ErrGroup(lifetime.ApplicationStopping);
        int errGroupFinished = 0;
        errGroup.Go(async () =>
        {
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (errGroup.Token.Register(() => stopping.TrySetResult()))
                await stopping.Task;
            await Go.Sleep(TimeSpan.FromMilliseconds(200));
            Interlocked.Increment(ref errGroupFinished);
            throw new IOException("flush failed");
        });
        host.Services.GetRequiredService<WeftShutdown>().Register("flusher", errGroup);

        await host.StopAsync().Within();

        Assert.Equal(4, workers.Finished);
        Assert.Equal(0, workers.Group.Count);
        Assert.Equal(1, Volatile.Read(ref errGroupFinished));
        Assert.Contains(logs.Entries, e => e.IsWeft && e.EventId == 5 && e.Message.Contains("workers, flusher", StringComparison.Ordinal));
        var failed = Assert.Single(logs.Entries, e => e.IsWeft && e.EventId == 6);
        Assert.Contains("flusher", failed.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(failed.Exception);
        Assert.DoesNotContain(logs.Entries, e => e.IsWeft && e.EventId == 7);
    }

    [Fact]
    public async Task Shutdown_gives_up_at_the_hosts_shutdown_timeout_and_names_what_did_not_finish()
    {
        using var restore = new RuntimeSettingsScope();
        var (builder, logs) = HostTestSupport.NewBuilder();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(300));
        var stuck = new WaitGroup();
        stuck.Add(1); // never done
        var done = new WaitGroup();
        builder.Services.AddWeft()
            .WaitOnShutdown("stuck group", _ => stuck)
            .WaitOnShutdown("finished group", _ => done);
        using var host = builder.Build();
        await host.StartAsync().Within();

        await host.StopAsync().Within();

        var gaveUp = Assert.Single(logs.Entries, e => e.IsWeft && e.EventId == 7);
        Assert.Equal(LogLevel.Warning, gaveUp.Level);
        Assert.Contains("1 registered goroutine group(s) finished: stuck group.", gaveUp.Message, StringComparison.Ordinal);
        Assert.Equal(1, stuck.Count);
    }

    [Fact]
    public async Task A_disposed_run_time_registration_is_not_waited_for()
    {
        using var restore = new RuntimeSettingsScope();
        var (builder, logs) = HostTestSupport.NewBuilder();
        builder.Services.AddWeft();
        using var host = builder.Build();
        await host.StartAsync().Within();
        var never = new WaitGroup();
        never.Add(1);
        host.Services.GetRequiredService<WeftShutdown>().Register("gone", never).Dispose();
        await host.StopAsync().Within();
        Assert.DoesNotContain(logs.Entries, e => e.IsWeft && e.EventId is 5 or 7);
    }
}
