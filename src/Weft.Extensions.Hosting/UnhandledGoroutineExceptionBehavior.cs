namespace Weft.Extensions.Hosting;

/// <summary>
/// What a host does after logging an exception that escaped a goroutine (the counterpart of
/// <c>HostOptions.BackgroundServiceExceptionBehavior</c> for goroutines).
/// </summary>
public enum UnhandledGoroutineExceptionBehavior
{
    /// <summary>
    /// Log the exception as critical, set <see cref="Environment.ExitCode"/> to 1 if it is still 0, and stop the host
    /// gracefully (<c>IHostApplicationLifetime.StopApplication</c>): the process ends with a failure code, as a Go program
    /// ends on a panic, but registered work gets the shutdown timeout to finish. The default.
    /// </summary>
    StopHost,

    /// <summary>Log the exception as an error and keep running.</summary>
    Ignore,
}
