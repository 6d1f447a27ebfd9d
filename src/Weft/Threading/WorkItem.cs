namespace Weft.Threading;

/// <summary>
/// A queued task that is more than a bare <see cref="Action"/>: it owns a <see cref="Task"/> that reports its
/// outcome. The work queue holds <c>object</c>s that are either an <see cref="Action"/> (from
/// <see cref="ThreadPoolExecutor.Execute(Action)"/>, queued as is, so the hot path allocates nothing) or an
/// <see cref="IWorkItem"/> (from <c>Submit</c>).
/// </summary>
internal interface IWorkItem
{
    /// <summary>The user's delegate, shown to the before/after-execute hooks.</summary>
    Delegate Work { get; }

    /// <summary>Runs the work and completes the task. Never throws; returns the work's exception, if any.</summary>
    Exception? Run();

    /// <summary>The work did not run because a before-execute hook threw <paramref name="error"/>.</summary>
    void Fail(Exception error);

    /// <summary>The work was discarded (rejection policy Discard or DiscardOldest): its task is canceled.</summary>
    void Abandon();
}

/// <summary>Marks the <see cref="Submission{T}"/> flavours (any T): their outcome goes to the submitter's task.</summary>
internal interface ISubmission;

/// <summary>Queued items seen as plain actions, for rejection policies and <c>ShutdownNow</c>.</summary>
internal static class WorkItems
{
    /// <summary>
    /// <paramref name="item"/> as an <see cref="Action"/>: an <c>Execute</c> action as is; an async <c>Execute</c>
    /// task run to completion, its exception thrown (as the action's would be); a submission run, its outcome going to
    /// the submitter's task.
    /// </summary>
    public static Action AsAction(object item) => item switch
    {
        Action action => action,
        AsyncExecution execution => () =>
        {
            if (execution.Run() is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        },
        _ => () => ((IWorkItem)item).Run(),
    };
}

/// <summary>What a queued delegate returns, and so how a worker runs it to completion.</summary>
internal enum WorkShape : byte
{
    /// <summary><see cref="Action"/>, or <see cref="Func{TResult}"/> with the result type: runs synchronously.</summary>
    Sync,

    /// <summary><see cref="Func{Task}"/> or <see cref="Func{TResult}"/> of <see cref="Task{TResult}"/>: the worker waits for the task.</summary>
    Task,

    /// <summary><see cref="Func{ValueTask}"/> or <see cref="Func{TResult}"/> of <see cref="ValueTask{TResult}"/>: the worker waits for it.</summary>
    ValueTask,
}

/// <summary>
/// A <c>Submit</c>ted task: the completion source and the work item in one object, so a submit costs this object
/// and its <see cref="Task{TResult}"/>. <typeparamref name="T"/> is <see cref="object"/> for the overloads without a
/// result. Continuations run asynchronously so that user code attached to the task never runs on (and never holds) a
/// pool worker inside the executor's bookkeeping.
/// </summary>
/// <remarks>
/// Async work (<see cref="WorkShape.Task"/>, <see cref="WorkShape.ValueTask"/>) is waited for on the worker thread,
/// so it holds its thread, counts as active and delays termination exactly as blocking work does; its continuations
/// run wherever its awaits complete (pool threads have no <see cref="SynchronizationContext"/>, so the wait cannot
/// deadlock on one). The shape is fixed by the Submit overload, never guessed from the delegate's type: delegate
/// variance makes a <c>Func&lt;Task&gt;</c> also a <c>Func&lt;object&gt;</c>.
/// </remarks>
internal sealed class Submission<T>(Delegate work, WorkShape shape, CancellationToken shutdownNowToken)
    : TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously), IWorkItem, ISubmission
{
    public Delegate Work => work;

    public Exception? Run()
    {
        try
        {
            TrySetResult(Invoke());
            return null;
        }
        catch (OperationCanceledException e) when (e.CancellationToken == shutdownNowToken)
        {
            TrySetCanceled(e.CancellationToken);
            return e;
        }
        catch (Exception e)
        {
            TrySetException(e);
            return e;
        }
    }

    private T Invoke()
    {
        switch (shape, work)
        {
            case (WorkShape.Sync, Action action):
                action();
                return default!;
            case (WorkShape.Sync, _):
                return ((Func<T>)work)();
            case (WorkShape.Task, Func<Task<T>> withResult):
                return AsyncWork.Wait(withResult());
            case (WorkShape.Task, _):
                AsyncWork.Wait(((Func<Task>)work)());
                return default!;
            case (_, Func<ValueTask<T>> withResult):
                return AsyncWork.Wait(withResult());
            default:
                AsyncWork.Wait(((Func<ValueTask>)work)());
                return default!;
        }
    }

    public void Fail(Exception error) => TrySetException(error);

    public void Abandon() => TrySetCanceled();
}

/// <summary>
/// An <c>Execute</c>d async delegate (<see cref="Func{Task}"/> or <see cref="Func{ValueTask}"/>): the worker waits for
/// it as for a <see cref="Submission{T}"/>, and its exception goes where an <see cref="Action"/>'s goes (the
/// after-execute hook, or standard error).
/// </summary>
internal sealed class AsyncExecution(Delegate work) : IWorkItem
{
    public Delegate Work => work;

    public Exception? Run()
    {
        try
        {
            if (work is Func<Task> task) AsyncWork.Wait(task());
            else AsyncWork.Wait(((Func<ValueTask>)work)());
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    public void Fail(Exception error)
    {
    }

    public void Abandon()
    {
    }
}

/// <summary>Waits on a pool thread for async work, rethrowing its own exception (not an AggregateException).</summary>
internal static class AsyncWork
{
    public static void Wait(Task? task) =>
        (task ?? throw new InvalidOperationException("The async work returned a null Task.")).GetAwaiter().GetResult();

    public static T Wait<T>(Task<T>? task) =>
        (task ?? throw new InvalidOperationException("The async work returned a null Task.")).GetAwaiter().GetResult();

    // An incomplete ValueTask may be backed by a pooled IValueTaskSource, whose GetResult must not be called before
    // it completes: AsTask waits through a Task in that case. A completed one is consumed directly.
    public static void Wait(ValueTask task)
    {
        if (task.IsCompleted) task.GetAwaiter().GetResult();
        else task.AsTask().GetAwaiter().GetResult();
    }

    public static T Wait<T>(ValueTask<T> task) =>
        task.IsCompleted ? task.GetAwaiter().GetResult() : task.AsTask().GetAwaiter().GetResult();
}
