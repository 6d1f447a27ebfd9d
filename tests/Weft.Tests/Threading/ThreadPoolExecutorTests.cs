using Xunit;
using System.Diagnostics.Metrics;
using Weft.Diagnostics;
using Weft.Threading;

namespace Weft.Tests.Threading;

/// <summary>
/// Invariants of <see cref="ThreadPoolExecutor"/>: the admission rule in Java's order, rejection policies, keep-alive,
/// lifecycle, hooks and metrics. No assertion depends on timing: tests block tasks on gates and wait, with a bound,
/// for the state they need.
/// </summary>
public sealed class ThreadPoolExecutorTests : PoolTestBase
{
    /// <summary>A task that signals it has started, then blocks until the gate opens.</summary>
    private Action Blocker(CountdownEvent started) => () =>
    {
        started.Signal();
        _gate.Wait(Wait.Limit);
    };

    /// <summary>A one-thread, hand-off pool whose only thread is blocked on the gate: the next task is rejected.</summary>
    private ThreadPoolExecutor SaturatedPool(RejectionPolicy policy)
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1, QueueCapacity = 0, RejectionPolicy = policy });
        using var started = new CountdownEvent(1);
        pool.Execute(Blocker(started));
        Wait.For(started, "the blocker");
        return pool;
    }

    [Fact]
    public void Rule1_FewerThanCoreThreads_StartsAThreadEvenWhenOneIsIdle()
    {
        var pool = Pool(new() { CorePoolSize = 2, MaximumPoolSize = 4, QueueCapacity = 10 });
        Wait.For(pool.Submit(() => { }), "the first task");
        Assert.Equal(1, pool.PoolSize);
        Wait.For(pool.Submit(() => { }), "the second task");
        Assert.Equal(2, pool.PoolSize);
        Wait.For(pool.Submit(() => { }), "the third task");
        Assert.Equal(2, pool.PoolSize); // at core: queued, not a new thread
    }

    [Fact]
    public void AdmissionRules_ApplyInOrder_CoreThenQueueThenMaxThenReject()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 2, QueueCapacity = 2 });
        using var started = new CountdownEvent(1);
        pool.Execute(Blocker(started));                  // rule 1: the core thread
        Wait.For(started, "the core thread's task");
        Assert.Equal((1, 0), (pool.PoolSize, pool.QueuedCount));

        var queued = new List<Task> { pool.Submit(() => { }), pool.Submit(() => { }) }; // rule 2: queued
        Assert.Equal((1, 2), (pool.PoolSize, pool.QueuedCount));

        started.Reset(1);
        pool.Execute(Blocker(started));                  // rule 3: queue full, a thread above core takes it
        Wait.For(started, "the extra thread's task");
        Assert.Equal((2, 2), (pool.PoolSize, pool.QueuedCount));

        var e = Assert.Throws<RejectedExecutionException>(() => pool.Execute(() => { })); // rule 4
        Assert.Contains("all 2 threads are busy", e.Message);
        Assert.Equal(1, pool.RejectedCount);

        _gate.Set();
        Wait.For(Task.WhenAll(queued), "the queued tasks");
        Assert.Equal(2, pool.LargestPoolSize);
    }

    [Fact]
    public void DirectHandOff_QueuesNothing_UsesAnIdleThreadOrStartsOne()
    {
        var pool = Pool(new() { CorePoolSize = 0, MaximumPoolSize = 2, QueueCapacity = 0 });
        using var started = new CountdownEvent(2);
        pool.Execute(Blocker(started));
        pool.Execute(Blocker(started));
        Wait.For(started, "two threads started by rule 3");
        Assert.Equal(2, pool.PoolSize);
        Assert.Throws<RejectedExecutionException>(() => pool.Execute(() => { }));

        _gate.Set();
        Wait.Until(() => pool.IdleCount == 2, "both threads are parked idle");
        Wait.For(pool.Submit(() => { }), "a task handed to an idle thread");
        Assert.Equal(2, pool.PoolSize);
        Assert.Equal(1, pool.RejectedCount);
    }

    [Fact]
    public void Rejection_Abort_Throws_AndSubmitThrowsToo()
    {
        var pool = SaturatedPool(RejectionPolicy.Abort);
        Assert.Throws<RejectedExecutionException>(() => pool.Execute(() => { }));
        Assert.Throws<RejectedExecutionException>(() => { _ = pool.Submit(() => 1); });
        Assert.Equal(2, pool.RejectedCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task Rejection_CallerRuns_RunsOnTheSubmittingThread()
    {
        var pool = SaturatedPool(RejectionPolicy.CallerRuns);
        int caller = Environment.CurrentManagedThreadId;
        int ranOn = -1;
        pool.Execute(() => ranOn = Environment.CurrentManagedThreadId);
        Assert.Equal(caller, ranOn);
        Task<int> submitted = pool.Submit(() => Environment.CurrentManagedThreadId);
        Assert.True(submitted.IsCompletedSuccessfully);
        Assert.Equal(caller, await submitted.WaitAsync(Wait.Limit));
        Assert.Equal(2, pool.RejectedCount);
    }

    /// <summary>
    /// Issue 13, bug 8: CallerRuns on a shut-down executor keeps Java's rule for an Execute action (dropped, counted
    /// as rejected) but fails a Submit task with an error that names the pool and says it is shut down, where it
    /// used to end as a bare cancellation.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task Rejection_CallerRuns_AfterShutdown_DropsAnAction_AndFailsASubmitWithAClearError()
    {
        var pool = Pool(new() { Name = "caller-runs-shut", CorePoolSize = 0, MaximumPoolSize = 1, QueueCapacity = 0,
                                RejectionPolicy = RejectionPolicy.CallerRuns });
        pool.Shutdown();
        bool ran = false;
        pool.Execute(() => ran = true); // Java's rule: no exception, not run
        Task<int> submitted = pool.Submit(() => { ran = true; return 1; });
        var e = await Assert.ThrowsAsync<RejectedExecutionException>(() => submitted.WaitAsync(Wait.Limit));
        Assert.Contains("'caller-runs-shut'", e.Message);
        Assert.Contains("shut down", e.Message);
        Assert.True(submitted.IsFaulted);
        Assert.False(ran);
        Assert.Equal(2, pool.RejectedCount);
    }

    /// <summary>Waits saturate (issue 13, bug 3 for the executors): a huge timeout means forever, not an error or "now".</summary>
    [Fact(Timeout = 30_000)]
    public async Task AwaitTermination_HugeTimeoutsWaitForever_NegativeOnesAreClearErrors()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1 });
        using var started = new CountdownEvent(1);
        pool.Execute(Blocker(started));
        Wait.For(started, "the blocker");
        pool.Shutdown();
        Task<bool> blocking = Task.Run(() => pool.AwaitTermination(TimeSpan.MaxValue));
        Task<bool> async = pool.AwaitTerminationAsync(TimeSpan.MaxValue);
        Task<bool> days = pool.AwaitTerminationAsync(TimeSpan.FromDays(60)); // beyond what Task.WaitAsync takes
        await Task.Delay(20); // a wait that treated the timeout as "now" (or threw) has ended by now
        Assert.False(blocking.IsCompleted || async.IsCompleted || days.IsCompleted);
        _gate.Set();
        Assert.True(await blocking.WaitAsync(Wait.Limit));
        Assert.True(await async.WaitAsync(Wait.Limit));
        Assert.True(await days.WaitAsync(Wait.Limit));

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => pool.AwaitTermination(TimeSpan.FromMilliseconds(-2)));
        Assert.Equal("timeout", e.ParamName);
        Assert.Contains("zero or more", e.Message);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => pool.AwaitTerminationAsync(TimeSpan.FromMilliseconds(-2)));
        Assert.True(pool.AwaitTermination(Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public void Rejection_Discard_DropsTheTask_AndCancelsASubmittedOne()
    {
        var pool = SaturatedPool(RejectionPolicy.Discard);
        bool ran = false;
        pool.Execute(() => ran = true);
        Task submitted = pool.Submit(() => ran = true);
        Assert.True(submitted.IsCanceled);
        _gate.Set();
        pool.Shutdown();
        Assert.True(pool.AwaitTermination(Wait.Limit));
        Assert.False(ran);
        Assert.Equal(2, pool.RejectedCount);
    }

    [Fact]
    public void Rejection_DiscardOldest_DropsTheHeadOfTheQueue_AndAdmitsTheNewTask()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1, QueueCapacity = 2, RejectionPolicy = RejectionPolicy.DiscardOldest });
        using var started = new CountdownEvent(1);
        pool.Execute(Blocker(started));
        Wait.For(started, "the blocker");
        var ran = new List<string>();
        Task oldest = pool.Submit(() => { lock (ran) ran.Add("oldest"); });
        pool.Execute(() => { lock (ran) ran.Add("second"); });
        pool.Execute(() => { lock (ran) ran.Add("newest"); });   // queue full: "oldest" goes
        Assert.True(oldest.IsCanceled);
        Assert.Equal(2, pool.QueuedCount);
        _gate.Set();
        pool.Shutdown();
        Assert.True(pool.AwaitTermination(Wait.Limit));
        Assert.Equal(["second", "newest"], ran);
    }

    [Fact(Timeout = 30_000)]
    public async Task Rejection_Custom_GetsARunnableTaskAndTheExecutor()
    {
        Action? rejected = null;
        ThreadPoolExecutor? from = null;
        var pool = SaturatedPool(RejectionPolicy.Custom((task, executor) => (rejected, from) = (task, executor)));
        Task<int> submitted = pool.Submit(() => 42);
        Assert.Same(pool, from);
        Assert.False(submitted.IsCompleted);
        rejected!();                              // running the handed-over action completes the submitter's task
        Assert.Equal(42, await submitted.WaitAsync(Wait.Limit));
    }

    [Fact(Timeout = 30_000)]
    public async Task Shutdown_RejectsNewTasks_RunsQueuedOnes_ThenTerminates()
    {
        int terminated = 0;
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1, Terminated = () => Interlocked.Increment(ref terminated) });
        using var started = new CountdownEvent(1);
        pool.Execute(Blocker(started));
        Wait.For(started, "the blocker");
        Task<int> queued = pool.Submit(() => 7);
        pool.Shutdown();
        Assert.True(pool.IsShutdown);
        var e = Assert.Throws<RejectedExecutionException>(() => pool.Execute(() => { }));
        Assert.Contains("shut down", e.Message);
        Assert.False(pool.AwaitTermination(TimeSpan.Zero)); // a task still runs and one is queued
        _gate.Set();
        Assert.True(pool.AwaitTermination(Wait.Limit));
        Assert.Equal(7, await queued.WaitAsync(Wait.Limit));
        Assert.True(pool.IsTerminated);
        Assert.Equal(0, pool.PoolSize);
        Assert.Equal(1, terminated);
        pool.Shutdown(); // idempotent
        Assert.Equal(1, terminated);
    }

    [Fact(Timeout = 30_000)]
    public async Task ShutdownNow_ReturnsNeverStartedTasks_AndCancelsTheTokenRunningTasksSee()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1 });
        using var started = new CountdownEvent(1);
        Task<bool> running = pool.Submit(() =>
        {
            started.Signal();
            return pool.ShutdownNowToken.WaitHandle.WaitOne(Wait.Limit); // a task that observes the token
        });
        Wait.For(started, "the running task");
        bool ranQueued = false;
        Action first = () => ranQueued = true;
        pool.Execute(first);
        Task<int> second = pool.Submit(() => 2);

        IReadOnlyList<Action> neverStarted = pool.ShutdownNow();

        Assert.True(await running.WaitAsync(Wait.Limit)); // it saw the cancellation
        Assert.Equal(2, neverStarted.Count);
        Assert.Same(first, neverStarted[0]);             // an Execute task is returned as itself, in queue order
        Assert.True(await pool.AwaitTerminationAsync(Wait.Limit));
        Assert.False(ranQueued);
        Assert.False(second.IsCompleted);                // a returned Submit task completes when its action runs
        neverStarted[1]();
        Assert.Equal(2, await second.WaitAsync(Wait.Limit));
        Assert.Throws<RejectedExecutionException>(() => pool.Execute(() => { }));
    }

    [Fact(Timeout = 30_000)]
    public async Task ShutdownNow_SubmitThatThrowsForTheToken_EndsCanceled()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1 });
        using var started = new CountdownEvent(1);
        Task running = pool.Submit(() =>
        {
            started.Signal();
            pool.ShutdownNowToken.WaitHandle.WaitOne(Wait.Limit);
            pool.ShutdownNowToken.ThrowIfCancellationRequested();
        });
        Wait.For(started, "the running task");
        pool.ShutdownNow();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(Wait.Limit));
        Assert.True(running.IsCanceled);
    }

    [Fact(Timeout = 30_000)]
    public async Task ThrowingTasks_LeaveThePoolHealthy()
    {
        var errors = new List<Exception?>();
        var pool = Pool(new()
        {
            CorePoolSize = 1, MaximumPoolSize = 1,
            AfterExecute = (_, error) => { lock (errors) errors.Add(error); },
        });
        pool.Execute(() => throw new InvalidOperationException("execute"));
        Task faulted = pool.Submit(() => throw new ArgumentException("submit"));
        Task<int> after = pool.Submit(() => 42);

        Assert.Equal(42, await after.WaitAsync(Wait.Limit)); // the same single worker survived both
        await Assert.ThrowsAsync<ArgumentException>(() => faulted.WaitAsync(Wait.Limit));
        Assert.Equal(1, pool.PoolSize);
        Assert.Equal(1, pool.LargestPoolSize);
        Wait.Until(() => pool.CompletedCount == 3, "three tasks completed");
        lock (errors)
        {
            Assert.IsType<InvalidOperationException>(errors[0]);
            Assert.IsType<ArgumentException>(errors[1]);
            Assert.Null(errors[2]);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Hooks_BeforeAndAfterExecute_AndTerminated_AreCalled_OnNamedThreads()
    {
        var log = new List<string>();
        Action work = () => { lock (log) log.Add("run"); };
        var pool = Pool(new()
        {
            Name = "hooks", CorePoolSize = 1, MaximumPoolSize = 1, IsBackground = false,
            BeforeExecute = (thread, task) =>
            {
                lock (log) log.Add($"before {thread.Name} background={thread.IsBackground} same={ReferenceEquals(task, work)}");
            },
            AfterExecute = (task, error) => { lock (log) log.Add($"after {error?.Message ?? "ok"}"); },
            Terminated = () => { lock (log) log.Add("terminated"); },
        });
        pool.Execute(work);
        pool.Execute(() => throw new InvalidOperationException("boom"));
        pool.Shutdown();
        Assert.True(await pool.AwaitTerminationAsync(Wait.Limit));
        Assert.Equal(
            ["before hooks-1 background=False same=True", "run", "after ok",
             "before hooks-1 background=False same=False", "after boom", "terminated"],
            log);
    }

    [Fact]
    public void BeforeExecuteThatThrows_SkipsTheTask_AndFaultsIt()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1, BeforeExecute = (_, _) => throw new InvalidOperationException("veto") });
        bool ran = false;
        Task t = pool.Submit(() => ran = true);
        Wait.For(t, "the vetoed task");
        Assert.IsType<InvalidOperationException>(t.Exception!.InnerException);
        Assert.False(ran);
    }

    [Fact(Timeout = 30_000)]
    public async Task Hooks_RunOutsideTheExecutorsLock()
    {
        // Each hook asks another thread for a metric that takes the executor's lock; a hook run under it would deadlock.
        ThreadPoolExecutor? pool = null;
        int Probe() => Task.Run(() => pool!.ActiveCount + pool.LargestPoolSize).Wait(Wait.Limit) ? 1 : throw new TimeoutException();
        pool = Pool(new()
        {
            CorePoolSize = 1, MaximumPoolSize = 1,
            BeforeExecute = (_, _) => Probe(),
            AfterExecute = (_, _) => Probe(),
            Terminated = () => Probe(),
        });
        await pool.Submit(() => { }).WaitAsync(Wait.Limit);
        pool.Shutdown();
        Assert.True(await pool.AwaitTerminationAsync(Wait.Limit));
    }

    [Fact]
    public void KeepAlive_ThreadsAboveCoreRetire()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 3, QueueCapacity = 0, KeepAlive = TimeSpan.FromMilliseconds(20) });
        using var started = new CountdownEvent(3);
        for (int i = 0; i < 3; i++) pool.Execute(Blocker(started));
        Wait.For(started, "three threads");
        Assert.Equal(3, pool.PoolSize);
        _gate.Set();
        Wait.Until(() => pool.PoolSize == 1 && pool.IdleCount == 1, "the pool shrank back to its core size, parked");
        Assert.Equal(3, pool.LargestPoolSize);
        Wait.For(pool.Submit(() => { }), "a task after shrinking");
        Assert.Equal(1, pool.PoolSize); // the core thread stays
    }

    [Fact(Timeout = 30_000)]
    public async Task KeepAlive_WithAllowCoreThreadTimeOut_ShrinksToZero_AndRestartsOnDemand()
    {
        var pool = Pool(new() { CorePoolSize = 2, MaximumPoolSize = 2, KeepAlive = TimeSpan.FromMilliseconds(20), AllowCoreThreadTimeOut = true });
        Wait.For(Task.WhenAll(pool.Submit(() => { }), pool.Submit(() => { })), "two tasks");
        Wait.Until(() => pool.PoolSize == 0, "every thread retired");
        Task<int> again = pool.Submit(() => 5);
        Assert.Equal(5, await again.WaitAsync(Wait.Limit));
    }

    [Fact]
    public void Stress_NoTaskIsStranded_WhenThreadsRetireWhileProducersSubmit()
    {
        // Core 0 and a 1 ms keep-alive make threads retire constantly while four producers submit: both Dekker pairs
        // (enqueue vs park, enqueue vs retire) are exercised; a stranded task would hang the countdown.
        var pool = Pool(new() { CorePoolSize = 0, MaximumPoolSize = 2, KeepAlive = TimeSpan.FromMilliseconds(1) });
        const int PerProducer = 5_000;
        using var done = new CountdownEvent(4 * PerProducer);
        var producers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < PerProducer; i++)
            {
                pool.Execute(() => done.Signal());
                if (i % 500 == 0) Thread.Sleep(2); // let the pool go idle and shrink now and then
            }
        })).ToArray();
        Wait.For(Task.WhenAll(producers), "the producers");
        Wait.For(done, "every task");
        Assert.True(pool.PoolSize <= 2);
        Wait.Until(() => pool.CompletedCount == 4 * PerProducer, "completed count caught up");
    }

    [Theory]
    [InlineData(0, 0, "MaximumPoolSize must be between 1 and 32767")]
    [InlineData(5, 4, "CorePoolSize must be between 0 and MaximumPoolSize (4)")]
    [InlineData(-1, 4, "CorePoolSize must be between 0 and MaximumPoolSize (4)")]
    public void BadSizes_AreClearErrors(int core, int max, string message)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadPoolExecutor(new() { CorePoolSize = core, MaximumPoolSize = max }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void BadKeepAliveAndCapacity_AreClearErrors()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadPoolExecutor(1, 1, TimeSpan.FromSeconds(-1), 10));
        Assert.Contains("KeepAlive must be zero or more", e.Message);
        using var huge = new ThreadPoolExecutor(1, 1, TimeSpan.MaxValue, 10); // huge means never: accepted
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadPoolExecutor(1, 1, TimeSpan.FromSeconds(1), -1));
        Assert.Contains("QueueCapacity must be between 0 and 2147483647", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadPoolExecutor(new() { AllowCoreThreadTimeOut = true, KeepAlive = TimeSpan.Zero }));
        Assert.Contains("greater than 0 when AllowCoreThreadTimeOut", e.Message);
    }

    [Fact]
    public void Metrics_AreProperties_AndInstrumentsOnTheWeftMeter()
    {
        var pool = Pool(new() { Name = "metrics-pool", CorePoolSize = 1, MaximumPoolSize = 1, QueueCapacity = 1 });
        using var started = new CountdownEvent(1);
        Wait.For(pool.Submit(() => { }), "a completed task");
        pool.Execute(Blocker(started));
        Wait.For(started, "the blocker");
        pool.Execute(() => { });
        Assert.Throws<RejectedExecutionException>(() => pool.Execute(() => { }));
        Assert.Equal((1, 1, 1, 1, 1L, 1L), (pool.ActiveCount, pool.PoolSize, pool.LargestPoolSize, pool.QueuedCount, pool.CompletedCount, pool.RejectedCount));

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == WeftMeter.Name && instrument.Name.StartsWith("weft.pool.", StringComparison.Ordinal)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == ThreadPoolExecutor.PoolNameTag && (string?)tag.Value == "metrics-pool") seen[instrument.Name] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(1, seen["weft.pool.active"]);
        Assert.Equal(1, seen["weft.pool.size"]);
        Assert.Equal(1, seen["weft.pool.largest_size"]);
        Assert.Equal(1, seen["weft.pool.queued"]);
        Assert.Equal(1, seen["weft.pool.completed"]);
        Assert.Equal(1, seen["weft.pool.rejected"]);
    }
}
