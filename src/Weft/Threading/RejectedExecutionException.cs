namespace Weft.Threading;

/// <summary>
/// Thrown by <see cref="RejectionPolicy.Abort"/> when a <see cref="ThreadPoolExecutor"/> cannot accept a task:
/// it is shut down, or every thread up to <see cref="ThreadPoolExecutorOptions.MaximumPoolSize"/> is busy and the
/// work queue is full.
/// </summary>
public sealed class RejectedExecutionException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public RejectedExecutionException() : base("The executor rejected the task.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">Why the task was rejected.</param>
    public RejectedExecutionException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    /// <param name="message">Why the task was rejected.</param>
    /// <param name="innerException">The cause.</param>
    public RejectedExecutionException(string message, Exception innerException) : base(message, innerException) { }
}
