// WeftHostedService — Weft's part in a generic host's lifetime.
//
// What it does, by phase (IHostedLifecycleService, so the host calls StartingAsync before any StartAsync):
// - Starting: applies WeftOptions to the runtime (Go.MaxProcs, Go.BlockingThreshold, Go.DeadlockDetection) and
//   routes Weft's two process-level reports, an exception that escaped a goroutine and a deadlock report, to the
//   "Weft" logger. Options were validated before this (ValidateOnStart), so a bad section stops the host before any
//   of it is applied.
// - Stop: waits for what the application registered with WeftShutdown, bounded by the token the host passes, which
//   it cancels when HostOptions.ShutdownTimeout elapses.
// - Stopped: unhooks the handlers, so what happens after the host is gone takes Weft's default path again.
//
// Why settings are applied at Starting rather than refused once the scheduler runs: every one of them takes effect
// while goroutines run (MaxProcs resizes the processor set without losing a queued goroutine; sysmon reads the
// threshold and the deadlock mode on each tick), so a Go.Run before the host starts is not an error to guard against.
//
// Rejected: applying the options in AddWeft. The configuration is not readable there (only the IServiceProvider has
// IConfiguration with every source), and a registration call should not change process-wide state.
//
// Go.UnhandledException and the deadlock event are process-wide; a handler per running host is the honest model (two
// hosts in one process each log and each apply their own StopHost), and unhooking at Stopped keeps them balanced.

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Weft.Extensions.Hosting;

internal sealed class WeftHostedService(
    IOptions<WeftOptions> options, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime, WeftShutdown shutdown)
    : IHostedLifecycleService
{
    /// <summary>The logger category of every Weft message: filter with <c>Logging:LogLevel:Weft</c>.</summary>
    internal const string LoggerCategory = "Weft";

    private readonly ILogger _logger = loggerFactory.CreateLogger(LoggerCategory);
    private UnhandledGoroutineExceptionBehavior _behavior;
    private int _hooked; // 1 between Starting and Stopped

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (o.MaxProcs is int procs) Go.MaxProcs = procs;
        if (o.BlockingThreshold is TimeSpan threshold) Go.BlockingThreshold = threshold;
        if (o.DeadlockDetection is DeadlockDetection mode) Go.DeadlockDetection = mode;
        _behavior = o.UnhandledException;
        if (Interlocked.Exchange(ref _hooked, 1) == 0)
        {
            Go.UnhandledException += OnUnhandled;
            Go.DeadlockDetected += OnDeadlock;
        }
        WeftLog.Configured(_logger, Go.MaxProcs, Go.BlockingThreshold.TotalMilliseconds, Go.DeadlockDetection, _behavior);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => shutdown.WaitAllAsync(_logger, cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _hooked, 0) == 1)
        {
            Go.UnhandledException -= OnUnhandled;
            Go.DeadlockDetected -= OnDeadlock;
        }
        return Task.CompletedTask;
    }

    // The report goes to the logger instead of standard error (Handled); what happens next is the mode's: under Fail,
    // Weft ends the process after this returns, as Go does, so that report is critical.
    private void OnDeadlock(object? sender, DeadlockDetectedEventArgs e)
    {
        if (e.Mode == DeadlockDetection.Fail) WeftLog.DeadlockFatal(_logger, e.GoroutineCount, e.Report);
        else WeftLog.DeadlockReported(_logger, e.GoroutineCount, e.Report);
        e.Handled = true;
    }

    private void OnUnhandled(object? sender, GoroutineExceptionEventArgs e)
    {
        string startedAt = e.StartedAt ?? "an unknown place";
        if (_behavior == UnhandledGoroutineExceptionBehavior.Ignore)
        {
            WeftLog.UnhandledIgnored(_logger, e.Exception, startedAt);
            return;
        }
        WeftLog.UnhandledStopping(_logger, e.Exception, startedAt);
        if (Environment.ExitCode == 0) Environment.ExitCode = 1;
        lifetime.StopApplication();
    }
}
