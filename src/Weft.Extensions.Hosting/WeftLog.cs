using Microsoft.Extensions.Logging;

namespace Weft.Extensions.Hosting;

/// <summary>Every message Weft logs in a host, with its event id (category <c>Weft</c>).</summary>
internal static partial class WeftLog
{
    [LoggerMessage(1, LogLevel.Information,
        "Weft runtime: MaxProcs {MaxProcs}, blocking threshold {BlockingThresholdMs} ms, deadlock detection {DeadlockDetection}, unhandled goroutine exceptions {UnhandledException}.")]
    public static partial void Configured(ILogger logger, int maxProcs, double blockingThresholdMs, DeadlockDetection deadlockDetection, UnhandledGoroutineExceptionBehavior unhandledException);

    [LoggerMessage(2, LogLevel.Critical,
        "An exception escaped a goroutine started at {StartedAt}; stopping the host (Weft:UnhandledException is StopHost).")]
    public static partial void UnhandledStopping(ILogger logger, Exception exception, string startedAt);

    [LoggerMessage(3, LogLevel.Error,
        "An exception escaped a goroutine started at {StartedAt}; the host keeps running (Weft:UnhandledException is Ignore).")]
    public static partial void UnhandledIgnored(ILogger logger, Exception exception, string startedAt);

    [LoggerMessage(4, LogLevel.Critical, "All {Count} goroutines are asleep - deadlock! The process ends (Weft:DeadlockDetection is Fail).\n{Report}")]
    public static partial void DeadlockFatal(ILogger logger, int count, string report);

    [LoggerMessage(8, LogLevel.Error, "All {Count} goroutines are asleep - deadlock! The process keeps running (Weft:DeadlockDetection is Report).\n{Report}")]
    public static partial void DeadlockReported(ILogger logger, int count, string report);

    [LoggerMessage(5, LogLevel.Information, "Waiting for {Count} registered goroutine group(s) to finish: {Names}.")]
    public static partial void WaitingOnShutdown(ILogger logger, int count, string names);

    [LoggerMessage(6, LogLevel.Error, "{Name} failed while the host was stopping.")]
    public static partial void ShutdownWaitFailed(ILogger logger, Exception exception, string name);

    [LoggerMessage(7, LogLevel.Warning,
        "The host's shutdown timeout elapsed before {Count} registered goroutine group(s) finished: {Names}. Their goroutines keep running until the process exits.")]
    public static partial void ShutdownGaveUp(ILogger logger, int count, string names);
}
