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
    /// Starts a worker, with <paramref name="firstTask"/> if given, unless the pool already has CorePoolSize
    /// (<paramref name="core"/>) or MaximumPoolSize threads, or its state forbids it (after Shutdown, only a worker with no first task,
    /// needed to drain a non-empty queue, may start).
    /// </summary>
    private bool TryAddWorker(object? firstTask, bool core)
    {
        Worker worker;
        lock (_lock)
        {
            AssertInvariants();
            int state = _queue.State;
            bool allowed = state == StateRunning ||
                           (state == StateShuttingDown && firstTask is null && Queued() > 0);
            if (!allowed || _poolSize >= (core ? _core : _max)) return false;
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
            Deregister(worker, Exit.Always);
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
        long idleSince = 0; // Stopwatch timestamp when this idle spell began; 0 while not idle
        while (true)
        {
            int state = _queue.State;
            if (state >= StateStopping || (state == StateShuttingDown && Queued() == 0))
            {
                if (Deregister(worker, Exit.Always)) return null;
            }
            // Java's check: a worker above a lowered maximum leaves instead of taking more work.
            if (Volatile.Read(ref _poolSize) > Volatile.Read(ref _max) && Deregister(worker, Exit.IfAboveMaximum)) return null;
            if (TryTake(out object task)) return task;
            if (_queue.State != StateRunning) continue;
            if (timedOut && Deregister(worker, Exit.IfAboveFloor)) return null;
            if (timedOut) idleSince = 0; // at the floor: a core thread again, whose idle spell starts over
            // Spin a little before registering as idle: a task that arrives meanwhile is taken without a semaphore
            // release by the producer or a kernel wake-up for this thread, the costly half of a hand-off.
            // Not for a direct hand-off, whose producers can only give a task to a worker registered as idle.
            if (!timedOut && _capacity != 0 && SpinForWork()) continue;

            // Park. Dekker pair 1 (see TryOffer): the increment is a full fence before the count is read again.
            Interlocked.Increment(ref _idle.Value);
            if (Queued() > 0 || _queue.State != StateRunning)
            {
                UnparkOrTakePermit();
                timedOut = false;
                continue;
            }
            bool timed = Volatile.Read(ref _allowCoreTimeOut) || Volatile.Read(ref _poolSize) > Volatile.Read(ref _core);
            var keepAlive = new TimeSpan(Volatile.Read(ref _keepAliveTicks));
            if (idleSince == 0) idleSince = Stopwatch.GetTimestamp();
            TimeSpan left = timed && keepAlive != Timeout.InfiniteTimeSpan
                ? keepAlive - Stopwatch.GetElapsedTime(idleSince)
                : Timeout.InfiniteTimeSpan;
            if (left < TimeSpan.Zero && left != Timeout.InfiniteTimeSpan) left = TimeSpan.Zero;
            // Never wait longer than s_recheckPeriod: a setter's WakeAllIdle releases one permit per idle worker, but a
            // worker that re-parks fast can take a second one, leaving another asleep under the old settings.
            bool expires = left != Timeout.InfiniteTimeSpan && left <= s_recheckPeriod;
            if (_wake.Wait(expires ? left : s_recheckPeriod))
            {
                timedOut = false;
                idleSince = 0;
                continue;
            }
            // The wait ran out, but a producer may have claimed us at the same moment: then its permit is ours.
            if (UnparkOrTakePermit())
            {
                timedOut = expires; // else a recheck: park again under the current settings, same idle spell
            }
            else
            {
                timedOut = false;
                idleSince = 0;
            }
        }
    }

    /// <summary>
    /// Spins briefly (yielding, never sleeping) until a task is queued or the state changes; false if neither
    /// happened, or if another worker is already spinning. A spinning worker is not in _idle, so producers do not signal it; parking afterwards runs the usual
    /// Dekker check, so a task that arrives as the spin ends is not missed.
    /// </summary>
    private bool SpinForWork()
    {
        // At most one spinner (Go's nmspinning rule): on a small machine, several spinning workers would take the
        // cores that producers need, and one is enough to catch the next task.
        if (Volatile.Read(ref _spinning) != 0 || Interlocked.CompareExchange(ref _spinning, 1, 0) != 0) return false;
        bool found = false;
        var spinner = new SpinWait();
        while (spinner.Count < SpinsBeforePark)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
            if (Queued() > 0 || _queue.State != StateRunning)
            {
                found = true;
                break;
            }
        }
        Volatile.Write(ref _spinning, 0);
        return found;
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
    /// Removes <paramref name="worker"/> from the pool if <paramref name="exit"/> allows it, checked under _lock against
    /// the current sizes (so that workers retiring together never take the pool below the bound). Afterwards, the queue is checked for tasks that this
    /// exit would strand (Dekker pair 2 in TryOffer), and termination is attempted.
    /// </summary>
    private bool Deregister(Worker worker, Exit exit)
    {
        lock (_lock)
        {
            AssertInvariants();
            int keep = exit switch
            {
                Exit.IfAboveFloor => _allowCoreTimeOut ? 0 : _core,
                Exit.IfAboveMaximum => _max,
                _ => 0,
            };
            if (_poolSize <= keep) return false;
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

    /// <summary>When a worker may leave the pool.</summary>
    private enum Exit
    {
        /// <summary>Shutdown, or a thread that failed to start.</summary>
        Always,
        /// <summary>Keep-alive ran out: only while above CorePoolSize (0 with AllowCoreThreadTimeOut).</summary>
        IfAboveFloor,
        /// <summary>MaximumPoolSize was lowered: only while above it.</summary>
        IfAboveMaximum,
    }

    /// <summary>Starts a worker if tasks are queued, none is left to run them, and the state still allows it.</summary>
    private void EnsureQueueServed()
    {
        if (Volatile.Read(ref _poolSize) == 0 && Queued() > 0)
        {
            TryAddWorker(null, core: false);
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
        else if (error is not null && item is Action or AsyncExecution)
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
