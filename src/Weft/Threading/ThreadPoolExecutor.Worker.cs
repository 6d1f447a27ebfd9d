using System.Diagnostics;

namespace Weft.Threading;

// The worker side: starting threads, the take/park/retire loop, and running one task.
public sealed partial class ThreadPoolExecutor
{
    /// <summary>A worker thread's record. Its counters are written only by its own thread and read racily by metrics.</summary>
    private sealed class Worker(ThreadPoolExecutor pool, object? firstTask)
    {
        public readonly ThreadPoolExecutor Pool = pool;
        public object? FirstTask = firstTask;  // read and cleared only by the worker thread
        public Thread Thread = null!;          // set under _lock before the thread starts
        public PaddedCounter Running;          // 1 while running a task; written only by the worker, read racily
        public PaddedCounter Completed;        // written only by the worker; padded so workers never share a line
    }

    /// <summary>
    /// Starts a worker, with <paramref name="firstTask"/> if given, unless the pool already has
    /// <paramref name="limit"/> threads or its state forbids it (after Shutdown, only a worker with no first task,
    /// needed to drain a non-empty queue, may start).
    /// </summary>
    private bool TryAddWorker(object? firstTask, int limit)
    {
        Worker worker;
        lock (_lock)
        {
            AssertInvariants();
            int state = _queue.State;
            bool allowed = state == StateRunning ||
                           (state == StateShuttingDown && firstTask is null && Queued() > 0);
            if (!allowed || _poolSize >= limit) return false;
            worker = new Worker(this, firstTask);
            worker.Thread = new Thread(static w => ((Worker)w!).Pool.WorkerLoop((Worker)w))
            {
                Name = $"{Name}-{++_threadSequence}",
                IsBackground = _isBackground,
            };
            _workers.Add(worker);
            Volatile.Write(ref _poolSize, _poolSize + 1);
            _largestPoolSize = Math.Max(_largestPoolSize, _poolSize);
        }

        try
        {
            worker.Thread.UnsafeStart(worker);
        }
        catch
        {
            Deregister(worker, retiring: false);
            throw;
        }
        return true;
    }

    private void WorkerLoop(Worker worker)
    {
        object? task = worker.FirstTask;
        worker.FirstTask = null;
        while (task is not null || (task = GetTask(worker)) is not null)
        {
            RunItem(worker, task);
            task = null;
        }
        // GetTask returned null only after deregistering this worker.
    }

    /// <summary>
    /// The next task for <paramref name="worker"/>, or null once it has been deregistered: on ShutdownNow, on
    /// Shutdown with the queue drained, or when its keep-alive ran out and the pool may shrink.
    /// </summary>
    private object? GetTask(Worker worker)
    {
        bool timedOut = false;
        while (true)
        {
            int state = _queue.State;
            if (state >= StateStopping || (state == StateShuttingDown && Queued() == 0))
            {
                if (Deregister(worker, retiring: false)) return null;
            }
            if (TryTake(out object task)) return task;
            if (_queue.State != StateRunning) continue;
            if (timedOut && Deregister(worker, retiring: true)) return null;

            // Park. Dekker pair 1 (see TryOffer): the increment is a full fence before the count is read again.
            Interlocked.Increment(ref _idle.Value);
            if (Queued() > 0 || _queue.State != StateRunning)
            {
                UnparkOrTakePermit();
                timedOut = false;
                continue;
            }
            bool timed = _allowCoreTimeOut || Volatile.Read(ref _poolSize) > _core;
            if (_wake.Wait(timed ? _keepAlive : Timeout.InfiniteTimeSpan))
            {
                timedOut = false;
                continue;
            }
            // Keep-alive ran out, but a producer may have claimed us at the same moment: then its permit is ours.
            timedOut = UnparkOrTakePermit();
        }
    }

    /// <summary>Withdraws this worker's idle registration; true if it did, false if it was claimed and took the permit.</summary>
    private bool UnparkOrTakePermit()
    {
        if (TryClaimIdle()) return true;
        // Someone claimed an idle worker after we registered: the permit count equals the claims, and every other
        // registered worker will consume its own, so this Wait returns promptly.
        _wake.Wait();
        return false;
    }

    /// <summary>
    /// Removes <paramref name="worker"/> from the pool. A retiring worker leaves only while the pool is above its
    /// floor (CorePoolSize, or 0 with AllowCoreThreadTimeOut). Afterwards, the queue is checked for tasks that this
    /// exit would strand (Dekker pair 2 in TryOffer), and termination is attempted.
    /// </summary>
    private bool Deregister(Worker worker, bool retiring)
    {
        lock (_lock)
        {
            AssertInvariants();
            if (retiring && _poolSize <= (_allowCoreTimeOut ? 0 : _core)) return false;
            _workers.Remove(worker);
            Volatile.Write(ref _poolSize, _poolSize - 1);
            _completedByExited += worker.Completed.Value;
        }
        // Dekker pair 2 (see TryOffer): the fence orders the _poolSize decrement above before this read of the count.
        Interlocked.MemoryBarrier();
        if (Queued() > 0) EnsureQueueServed();
        TryTerminate();
        return true;
    }

    /// <summary>Starts a worker if tasks are queued, none is left to run them, and the state still allows it.</summary>
    private void EnsureQueueServed()
    {
        if (Volatile.Read(ref _poolSize) == 0 && Queued() > 0)
        {
            TryAddWorker(null, _max);
        }
    }

    /// <summary>Runs one task with its hooks. Never throws: an exception never kills a worker.</summary>
    private void RunItem(Worker worker, object item)
    {
        Volatile.Write(ref worker.Running.Value, 1);
        Exception? error = null;
        if (_beforeExecute is { } before)
        {
            try
            {
                before(worker.Thread, WorkOf(item));
            }
            catch (Exception e)
            {
                error = e;
                (item as IWorkItem)?.Fail(e);
            }
        }
        if (error is null)
        {
            if (item is Action action)
            {
                try
                {
                    action();
                }
                catch (Exception e)
                {
                    error = e;
                }
            }
            else
            {
                error = ((IWorkItem)item).Run();
            }
        }

        if (_afterExecute is { } after)
        {
            try
            {
                after(WorkOf(item), error);
            }
            catch (Exception e)
            {
                ReportUnhandled(e);
            }
        }
        else if (error is not null && item is Action)
        {
            ReportUnhandled(error);
        }
        Volatile.Write(ref worker.Completed.Value, worker.Completed.Value + 1);
        Volatile.Write(ref worker.Running.Value, 0);
    }

    private static Delegate WorkOf(object item) => item as Delegate ?? ((IWorkItem)item).Work;

    private void ReportUnhandled(Exception e)
    {
        Debug.Assert(e is not null, "Only a real exception is reported.");
        Console.Error.WriteLine($"Unhandled exception in a task of pool '{Name}' on thread '{Thread.CurrentThread.Name}': {e}");
    }
}
