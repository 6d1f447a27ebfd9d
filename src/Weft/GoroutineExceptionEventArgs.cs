namespace Weft;

/// <summary>The data of <see cref="Go.UnhandledException"/>: the exception that escaped a goroutine.</summary>
public sealed class GoroutineExceptionEventArgs : EventArgs
{
    internal GoroutineExceptionEventArgs(Exception exception, string? file, int line)
    {
        Exception = exception;
        StartedAt = file is null ? null : $"{file}:{line}";
    }

    /// <summary>The exception that escaped the goroutine's body.</summary>
    public Exception Exception { get; }

    /// <summary>Where the goroutine was started (<c>file:line</c> of the <c>Go.Run</c> call), if known.</summary>
    public string? StartedAt { get; }
}
