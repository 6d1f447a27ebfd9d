namespace Weft.Threading;

// Shutdown, ShutdownNow, termination and waiting for it.
public sealed partial class ThreadPoolExecutor
{
    /// <summary>
    /// Starts an orderly shutdown: no new task is accepted (each is rejected through the policy), queued tasks still
    /// run, and threads exit once the queue is empty. Does not wait; see <see cref="AwaitTermination"/>.
    /// Calling it again does nothing.
    /// </summary>
    /// <example><code>pool.Shutdown(); pool.AwaitTermination(TimeSpan.FromSeconds(5));</code></example>
    public void Shutdown()
    {
        AdvanceState(StateShuttingDown);
        WakeAllIdle();
        EnsureQueueServed();
        TryTerminate();
    }

    /// <summary>
    /// Stops at once: no new task is accepted, tasks that never started are removed and returned, and
    /// <see cref="ShutdownNowToken"/> is canceled so that running tasks can stop early. Running tasks are not
    /// interrupted otherwise. Does not wait for them; see <see cref="AwaitTermination"/>.
    /// </summary>
    /// <returns>
    /// The tasks that never started, oldest first. An <see cref="Execute(Action)"/> task is the caller's own
    /// <see cref="Action"/>; an async <c>Execute</c> task is an <see cref="Action"/> that runs it to completion and
    /// throws its exception; a <c>Submit</c> task is an <see cref="Action"/> that runs the work and completes the
    /// submitter's task, which stays pending until it is run (as Java's returned <c>FutureTask</c>s do).
    /// </returns>
    /// <exception cref="AggregateException">A callback registered on <see cref="ShutdownNowToken"/> threw; the
    /// shutdown itself has completed.</exception>
    /// <example><code>foreach (Action task in pool.ShutdownNow()) fallback.Execute(task);</code></example>
    public IReadOnlyList<Action> ShutdownNow()
    {
        AdvanceState(StateStopping);
        WakeAllIdle();
        // Nothing can be enqueued any more, so this drains to empty; a worker that dequeued just before the state
        // changed runs its task, as in Java.
        var neverStarted = new List<Action>();
        while (TryTake(out object item))
        {
            neverStarted.Add(WorkItems.AsAction(item));
        }
        TryTerminate();
        _shutdownNow.Cancel(); // last, outside any lock: it runs user callbacks and may throw
        return neverStarted;
    }

    /// <summary>Blocks until the executor has terminated after a shutdown, or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">How long to wait: zero or more; <see cref="Timeout.InfiniteTimeSpan"/> or a huge value
    /// (such as <see cref="TimeSpan.MaxValue"/>, which the BCL's waits reject) waits forever.</param>
    /// <returns>True if the executor terminated, false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <example><code>pool.Shutdown(); if (!pool.AwaitTermination(TimeSpan.FromSeconds(5))) pool.ShutdownNow();</code></example>
    public bool AwaitTermination(TimeSpan timeout) => _terminated.Task.Wait(SaturateWait(timeout));

    /// <summary>
    /// Waits asynchronously until the executor has terminated after a shutdown, or <paramref name="timeout"/> passes.
    /// </summary>
    /// <param name="timeout">How long to wait: zero or more; <see cref="Timeout.InfiniteTimeSpan"/> or a huge value
    /// (such as <see cref="TimeSpan.MaxValue"/>) waits forever.</param>
    /// <param name="cancellationToken">Cancels the wait (not the executor).</param>
    /// <returns>True if the executor terminated, false on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    /// <example><code>pool.Shutdown(); bool done = await pool.AwaitTerminationAsync(TimeSpan.FromSeconds(5));</code></example>
    public async Task<bool> AwaitTerminationAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _terminated.Task.WaitAsync(SaturateWait(timeout), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// A wait's timeout as the BCL's waits take it: a huge one (beyond <see cref="int.MaxValue"/> milliseconds, about
    /// 24.8 days, which they reject) saturates to infinite; a negative one other than infinite is a clear error.
    /// </summary>
    private static TimeSpan SaturateWait(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds > int.MaxValue) return Timeout.InfiniteTimeSpan;
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout,
                $"timeout must be zero or more (TimeSpan.MaxValue: forever), or Timeout.InfiniteTimeSpan; it was {timeout}.");
        }
        return timeout;
    }

    /// <summary>Moves the state forward to <paramref name="target"/> (never back), keeping the queue.</summary>
    private void AdvanceState(int target) => _queue.AdvanceState(target);

    /// <summary>
    /// Wakes every parked worker so it sees the new state. Dekker pair with parking: the state CAS comes before this
    /// exchange; a parking worker increments _idle before it reads the state. Either it is counted here or it sees
    /// the state and does not park.
    /// </summary>
    private void WakeAllIdle()
    {
        long idle = Interlocked.Exchange(ref _idle.Value, 0);
        if (idle > 0) _wake.Release((int)idle);
    }

    /// <summary>Terminates if shut down, drained and threadless; runs the terminated hook once, outside _lock.</summary>
    private void TryTerminate()
    {
        lock (_lock)
        {
            AssertInvariants();
            if (_terminating || !IsShutdown || Queued() > 0 || _poolSize > 0) return;
            _terminating = true;
        }
        try
        {
            _terminatedHook?.Invoke();
        }
        catch (Exception e)
        {
            ReportUnhandled(e);
        }
        finally
        {
            AdvanceState(StateTerminated);
            UnregisterMetrics();
            _terminated.TrySetResult();
        }
    }
}
