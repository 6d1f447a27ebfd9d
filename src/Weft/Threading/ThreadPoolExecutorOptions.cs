namespace Weft.Threading;

/// <summary>
/// The configuration of a <see cref="ThreadPoolExecutor"/>, validated once by its constructor. The names and the
/// meaning follow Java's <c>ThreadPoolExecutor</c>; see that class's remarks for the admission rule they drive.
/// </summary>
/// <example>
/// <code>
/// // A bounded pool for blocking I/O: 4 threads always, up to 32 under a burst, a queue of 100, back-pressure beyond.
/// var pool = new ThreadPoolExecutor(new ThreadPoolExecutorOptions
/// {
///     Name = "db", CorePoolSize = 4, MaximumPoolSize = 32, QueueCapacity = 100,
///     KeepAlive = TimeSpan.FromSeconds(30), RejectionPolicy = RejectionPolicy.CallerRuns,
/// });
/// </code>
/// </example>
public sealed class ThreadPoolExecutorOptions
{
    /// <summary>
    /// Threads kept even when idle (unless <see cref="AllowCoreThreadTimeOut"/>). While fewer exist, every task
    /// starts a new one. Allowed: 0 to <see cref="MaximumPoolSize"/>. Default: <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    public int CorePoolSize { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// The most threads the pool ever runs. Threads above <see cref="CorePoolSize"/> start only when the queue is
    /// full. Allowed: 1 to 32,767. Default: <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    public int MaximumPoolSize { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// How long a thread above <see cref="CorePoolSize"/> (or any thread, with <see cref="AllowCoreThreadTimeOut"/>)
    /// waits idle before it exits. Allowed: zero or more, or <see cref="Timeout.InfiniteTimeSpan"/>; a huge value such
    /// as <see cref="TimeSpan.MaxValue"/> means never, like infinite. Default: 60 s.
    /// </summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether core threads also exit after <see cref="KeepAlive"/> idle. Needs a positive keep-alive.</summary>
    public bool AllowCoreThreadTimeOut { get; init; }

    /// <summary>
    /// How many tasks may wait for a thread. 0 is a direct hand-off: a task is accepted only if a thread is idle or
    /// can be started. Allowed: 0 to <see cref="int.MaxValue"/>. Default: <see cref="int.MaxValue"/> (in effect
    /// unbounded; note that threads above <see cref="CorePoolSize"/> then never start, exactly as in Java).
    /// </summary>
    public int QueueCapacity { get; init; } = int.MaxValue;

    /// <summary>What happens to a task that cannot be accepted. Default: <see cref="RejectionPolicy.Abort"/>.</summary>
    public RejectionPolicy RejectionPolicy { get; init; } = RejectionPolicy.Abort;

    /// <summary>
    /// The pool's name: threads are called <c>{Name}-1</c>, <c>{Name}-2</c>, … and metrics carry it as the
    /// <c>weft.pool.name</c> tag. Default: <c>weft-pool-N</c>, N counting pools created in this process.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>
    /// Whether worker threads are background threads, which do not keep the process alive. Default: true (the .NET
    /// convention; Java's default threads are foreground).
    /// </summary>
    public bool IsBackground { get; init; } = true;

    /// <summary>
    /// Called on the worker thread before each task, with the thread and the task's delegate. If it throws, the task
    /// does not run and the exception is the task's outcome (given to <see cref="AfterExecute"/>, or faulting a
    /// <c>Submit</c> task).
    /// </summary>
    public Action<Thread, Delegate>? BeforeExecute { get; init; }

    /// <summary>
    /// Called on the worker thread after each task with its delegate and the exception it threw (null on success).
    /// When set, it owns the reporting of <see cref="ThreadPoolExecutor.Execute(Action)"/> exceptions; when not set they are
    /// written to standard error, as Java's default uncaught-exception handler does. A <c>Submit</c> task's exception
    /// goes to its task in either case.
    /// </summary>
    public Action<Delegate, Exception?>? AfterExecute { get; init; }

    /// <summary>Called once, on the last thread to leave, when the executor has terminated.</summary>
    public Action? Terminated { get; init; }
}
