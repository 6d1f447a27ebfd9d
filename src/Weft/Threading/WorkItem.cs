namespace Weft.Threading;

/// <summary>
/// A queued task that is more than a bare <see cref="Action"/>: it owns a <see cref="Task"/> that reports its
/// outcome. The work queue holds <c>object</c>s that are either an <see cref="Action"/> (from
/// <see cref="ThreadPoolExecutor.Execute"/>, queued as is, so the hot path allocates nothing) or an
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

/// <summary>
/// A <c>Submit</c>ted task: the completion source and the work item in one object, so a submit costs this object
/// and its <see cref="Task{TResult}"/>. <typeparamref name="T"/> is <see cref="object"/> for <c>Submit(Action)</c>.
/// Continuations run asynchronously so that user code attached to the task never runs on (and never holds) a
/// pool worker inside the executor's bookkeeping.
/// </summary>
internal sealed class Submission<T>(Delegate work, CancellationToken shutdownNowToken)
    : TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously), IWorkItem
{
    public Delegate Work => work;

    public Exception? Run()
    {
        try
        {
            T result;
            if (work is Func<T> func)
            {
                result = func();
            }
            else
            {
                ((Action)work)();
                result = default!;
            }
            TrySetResult(result);
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

    public void Fail(Exception error) => TrySetException(error);

    public void Abandon() => TrySetCanceled();
}
