namespace Weft.Threading;

/// <summary>
/// What a <see cref="ThreadPoolExecutor"/> does with a task it cannot accept: the executor is shut down, or all
/// <see cref="ThreadPoolExecutorOptions.MaximumPoolSize"/> threads are busy and the work queue is full.
/// The four built-in policies are Java's; <see cref="Custom"/> wraps a delegate. Every rejection, whatever the
/// policy, counts in <see cref="ThreadPoolExecutor.RejectedCount"/>.
/// </summary>
/// <remarks>
/// A rejected <c>Submit</c> task is handed to the policy as an <see cref="Action"/> that runs the work and completes
/// the submitter's task; when Discard or DiscardOldest drops it, that task is canceled rather than left pending
/// forever, and when CallerRuns refuses it on a shut-down executor, that task faults with a
/// <see cref="RejectedExecutionException"/> that names the pool.
/// </remarks>
/// <example>
/// <code>
/// var pool = new ThreadPoolExecutor(new ThreadPoolExecutorOptions
/// {
///     CorePoolSize = 2, MaximumPoolSize = 8, QueueCapacity = 0, RejectionPolicy = RejectionPolicy.CallerRuns,
/// });
/// </code>
/// </example>
public abstract class RejectionPolicy
{
    private protected RejectionPolicy() { }

    /// <summary>Throws <see cref="RejectedExecutionException"/> to the submitter. The default.</summary>
    public static RejectionPolicy Abort { get; } = new AbortPolicy();

    /// <summary>
    /// Runs the task on the submitting thread, which slows submitters down to the pool's pace (back-pressure).
    /// An <see cref="ThreadPoolExecutor.Execute(Action)"/> task's exception then propagates to the submitter.
    /// </summary>
    /// <remarks>
    /// On a shut-down executor the task is not run. An <see cref="ThreadPoolExecutor.Execute(Action)"/> action is then
    /// discarded <b>silently</b>, as Java's <c>CallerRunsPolicy</c> does (<see cref="ThreadPoolExecutor.RejectedCount"/>
    /// still counts it; check <see cref="ThreadPoolExecutor.IsShutdown"/> if dropped work matters). A <c>Submit</c>
    /// task faults instead with a <see cref="RejectedExecutionException"/> naming the pool and saying it is shut down,
    /// so whoever awaits it learns why (Java's future would stay pending forever).
    /// </remarks>
    public static RejectionPolicy CallerRuns { get; } = new CallerRunsPolicy();

    /// <summary>Silently drops the task (a <c>Submit</c> task is canceled).</summary>
    public static RejectionPolicy Discard { get; } = new DiscardPolicy();

    /// <summary>
    /// Drops the oldest queued task (canceling it if it was submitted) and retries admission; when nothing is queued
    /// (a direct hand-off pool) or the executor is shut down, drops the new task instead.
    /// </summary>
    public static RejectionPolicy DiscardOldest { get; } = new DiscardOldestPolicy();

    /// <summary>
    /// A policy that calls <paramref name="handler"/> with the rejected task and the executor. The handler runs on
    /// the submitting thread; what it throws propagates to the submitter.
    /// </summary>
    /// <param name="handler">Receives the task as an <see cref="Action"/> (running it runs the work) and the executor.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    public static RejectionPolicy Custom(Action<Action, ThreadPoolExecutor> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return new CustomPolicy(handler);
    }

    /// <summary>Handles <paramref name="item"/> (an <see cref="Action"/> or <see cref="IWorkItem"/>).</summary>
    internal abstract void Reject(object item, ThreadPoolExecutor executor, string reason);

    private static void Drop(object item) => (item as IWorkItem)?.Abandon();

    private static Action AsAction(object item) => WorkItems.AsAction(item);

    private sealed class AbortPolicy : RejectionPolicy
    {
        internal override void Reject(object item, ThreadPoolExecutor executor, string reason) =>
            throw new RejectedExecutionException($"Pool '{executor.Name}' rejected a task: {reason}.");
    }

    private sealed class CallerRunsPolicy : RejectionPolicy
    {
        internal override void Reject(object item, ThreadPoolExecutor executor, string reason)
        {
            if (executor.IsShutdown)
            {
                // Java's rule for the bare action (dropped, silently); a submitter's task says what happened.
                (item as IWorkItem)?.Fail(new RejectedExecutionException($"Pool '{executor.Name}' rejected a task: {reason}."));
            }
            else if (item is ISubmission)
            {
                ((IWorkItem)item).Run(); // the outcome goes to the submitter's task
            }
            else
            {
                WorkItems.AsAction(item)(); // an Execute task: its exception propagates to this caller
            }
        }
    }

    private sealed class DiscardPolicy : RejectionPolicy
    {
        internal override void Reject(object item, ThreadPoolExecutor executor, string reason) => Drop(item);
    }

    private sealed class DiscardOldestPolicy : RejectionPolicy
    {
        internal override void Reject(object item, ThreadPoolExecutor executor, string reason)
        {
            // Each pass removes one queued task, so this ends: either the retry is admitted or the queue runs dry.
            while (!executor.IsShutdown && executor.TryTakeQueued(out object? oldest))
            {
                Drop(oldest);
                if (executor.TryOffer(item)) return;
            }
            Drop(item);
        }
    }

    private sealed class CustomPolicy(Action<Action, ThreadPoolExecutor> handler) : RejectionPolicy
    {
        internal override void Reject(object item, ThreadPoolExecutor executor, string reason) =>
            handler(AsAction(item), executor);
    }
}
